"""Pictures of what a model retrieves: embed an evaluation gallery, rank it for queries, draw a grid."""
from .gallery import Gallery, embed_gallery, pipeline_of
from .queries import embed_image_queries, embed_text_queries, find_tokenize, load_query_image
from .ranking import top_k
from .retrieval_grid import (GridLayout, check_image_path, image_query_row, stack_rows, text_query_row,
                             thumbnail, write_image)

__all__ = ['Gallery', 'embed_gallery', 'pipeline_of', 'embed_image_queries', 'embed_text_queries',
           'find_tokenize', 'load_query_image', 'top_k', 'GridLayout', 'check_image_path', 'image_query_row',
           'stack_rows', 'text_query_row', 'thumbnail', 'write_image']
