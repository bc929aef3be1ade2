"""The ``fieldcrm`` command."""

import typer

from device_agent.cli import app as agent_app
from device_agent.simulator.cli import app as sim_app
from server.cli import backup, db, demo, org, serve

app = typer.Typer(
    help="fieldcrm: CRM for field-sales teams whose company phones capture their own work.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("serve")(serve.serve)
app.command("scheduler")(serve.scheduler)
app.command("demo")(demo.demo)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.add_typer(db.app, name="db")
app.add_typer(org.user_app, name="user")
app.add_typer(org.division_app, name="division")
app.add_typer(agent_app, name="agent")
app.add_typer(sim_app, name="sim")

if __name__ == "__main__":
    app()
