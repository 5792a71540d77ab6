"""_command_paths: every command of the command line, walked through its groups, for test_docs.py and test_cli_output.py."""

import typer.main


def _command_paths(group: typer.Typer, prefix: str = "backoffice") -> list[str]:
    """Every command, through the groups' own listing (the root's groups load when asked)."""
    click_group = typer.main.get_command(group)
    paths = []

    def walk(command, path):
        if not hasattr(command, "list_commands"):
            paths.append(path)
            return
        context = click_group.context_class(command)
        for name in command.list_commands(context):
            walk(command.get_command(context, name), f"{path} {name}")

    walk(click_group, prefix)
    return paths
