"""One module per page (or small group of pages); each defines an ``APIRouter`` named ``router``."""
