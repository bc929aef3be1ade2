"""Device services reachable through adb OPEN: shell, sync and tcp:9008."""
