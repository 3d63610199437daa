"""Pictures of what a model retrieves: embed an evaluation gallery, rank it for queries, draw a grid."""
from .gallery import Gallery, embed_gallery, pipeline_of
from .queries import embed_image_queries, load_query_image
from .retrieval_grid import (GridLayout, check_image_path, image_query_row, stack_rows, text_query_row,
                             thumbnail, write_image)

__all__ = ['Gallery', 'embed_gallery', 'pipeline_of', 'embed_image_queries', 'load_query_image', 'GridLayout',
           'check_image_path', 'image_query_row', 'stack_rows', 'text_query_row', 'thumbnail', 'write_image']
