"""Visual Wake Words sample: person / no-person image data and the C99 BMP input reader."""
from .data import CLASS_NAMES, load_default_vww, load_image, load_vww
from .image_reader_c import write_image_reader_c

__all__ = ["CLASS_NAMES", "load_vww", "load_default_vww", "load_image", "write_image_reader_c"]
