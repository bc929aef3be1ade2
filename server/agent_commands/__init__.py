"""Commands from the dashboard to the device agent on the office PC (sync, re-provision), and what
the agent last said about each phone's adb state."""
