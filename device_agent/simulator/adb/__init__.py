"""Device side of the adb wire protocol: framing, transport, streams and services."""
