"""An instrument's photo as the directory shows it: checked, cut to a size a phone loads
quickly, and re-encoded (which also drops what the camera wrote in it, such as a GPS position).
No Flask, no database: bytes in, bytes out."""
from io import BytesIO

from PIL import Image, ImageOps

from booking.instruments.rules import N_

#: refused before decoding: a small file may declare a huge image (a "decompression bomb")
MAX_PHOTO_PIXELS = 40_000_000
#: the longest side kept; the directory shows photos at most 1,200 px wide
PHOTO_SIDE = 2000
_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


class PhotoRefused(ValueError):
    """`args[0]`: the msgid saying why."""


def fitted_photo(data: bytes, kind: str) -> bytes:
    """`data` (an image of `kind`, by its magic bytes) at most PHOTO_SIDE px on its longest
    side, upright, re-encoded in the same format."""
    too_many = PhotoRefused(N_("The photo has too many pixels: at most 40 megapixels "
                               "(8,000 × 5,000)."))
    try:
        with Image.open(BytesIO(data), formats=[_FORMATS[kind]]) as image:
            if image.width * image.height > MAX_PHOTO_PIXELS:
                raise too_many
            image.load()
            return _fitted(ImageOps.exif_transpose(image), kind)
    except Image.DecompressionBombError as error:  # Pillow's own, larger, limit
        raise too_many from error
    except PhotoRefused:
        raise
    except (OSError, ValueError, SyntaxError) as error:  # a truncated, forged or odd file
        raise PhotoRefused(N_("The photo could not be read as an image.")) from error


def _fitted(image: Image.Image, kind: str) -> bytes:
    image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    if kind == "jpeg" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = BytesIO()
    image.save(out, _FORMATS[kind], **({"quality": 85} if kind != "png" else {"optimize": True}))
    return out.getvalue()
