"""``python -m device_agent``: the agent CLI without the rest of ``fieldcrm``."""

from device_agent.cli import app

app(prog_name="fieldcrm agent")
