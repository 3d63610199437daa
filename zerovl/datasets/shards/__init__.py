"""img2dataset's webdataset shards: layout, tar reading, the epoch plan and the streaming dataset."""
