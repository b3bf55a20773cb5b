import argparse
import dataclasses
import getpass
import sys

from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = (
        "The service's configuration in Parameter Store, one path per service and environment: set KEY=VALUE ... "
        "(plain values) or set --secret KEY (its value asked for with no echo, or read from stdin: never from the "
        "command line), unset KEY ..., list (secrets shown as set, never their values), import FILE (a .env file; "
        "--secret KEY marks its secrets). The tasks get them at the next deploy_ecs, or at once with --deploy."
    )
    json_flag = True
    env_flag = True
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{set,unset,list,import}", help="What to do with the configuration."
        )
        put = actions.add_parser("set", help="Set plain values, and secrets asked for.")
        put.add_argument("pairs", nargs="*", metavar="KEY=VALUE", help="Plain values.")
        put.add_argument("--secret", action="append", default=[], metavar="KEY", help="A secret to ask for.")
        remove = actions.add_parser("unset", help="Remove variables.")
        remove.add_argument("keys", nargs="+", metavar="KEY", help="The variables to remove.")
        actions.add_parser("list", help="The variables, plain values shown, secrets as set.")
        load = actions.add_parser("import", help="Set every variable of a .env file.")
        load.add_argument("file", help="The .env file: KEY=VALUE lines.")
        load.add_argument(
            "--secret", action="append", default=[], metavar="KEY", help="A key of the file to keep secret."
        )
        for each in (put, remove, load):
            each.add_argument(
                "--deploy",
                action="store_true",
                help="Run deploy_ecs right after, so that the tasks get the change now.",
            )
        for each in (put, remove, load, actions.choices["list"]):  # also after the action: config_ecs list --json
            each.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            each.add_argument("--env", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    def handle(self, *args, env, action, **options):
        from pathlib import Path

        from ecr_deploy.aws.session import aws_session
        from ecr_deploy.environments import check_service_name, resolve_environment
        from ecr_deploy.errors import ConfigurationError
        from ecr_deploy.workflows import config

        environment = resolve_environment(env)
        check_service_name(environment)
        if options.get("deploy") and self.as_json:
            raise ConfigurationError(
                "--deploy prints deploy_ecs's report; for JSON, run config_ecs --json, then deploy_ecs --json. "
                "Nothing was written."
            )
        if action == "set":
            values = config.assignments(options["pairs"])
            secrets = set(options["secret"])
            if not values and not secrets:
                raise ConfigurationError("Nothing to set: give KEY=VALUE or --secret KEY.")
            config.check_values(environment, {**values, **dict.fromkeys(secrets, "?")})
            values |= {key: self.ask(key) for key in options["secret"]}
        elif action == "import":
            values = config.parse_env_file(Path(options["file"]))
            secrets = set(options["secret"])
            if unknown := sorted(secrets - set(values)):
                raise ConfigurationError(f"--secret names keys that {options['file']} lacks: {', '.join(unknown)}.")
        parameters = config.store(environment, aws_session(environment.region, environment.profile))
        if action in ("set", "import"):
            config.set_values(parameters, environment, values, secrets)
            self.report({"set": sorted(values), "secret": sorted(secrets)}, f"Set {', '.join(sorted(values))}.")
        elif action == "unset":
            removed = config.unset_values(parameters, options["keys"])
            self.report({"unset": removed}, f"Unset {', '.join(removed)}.")
        else:
            rows = config.listed(parameters.parameters(with_plain_values=True))
            self.report(
                {"variables": [dataclasses.asdict(row) for row in rows]},
                "\n".join(
                    f"{row.key}={'(secret, set ' + row.changed + ')' if row.secret else row.value}" for row in rows
                )
                or "No variables set.",
            )
        if options.get("deploy"):
            from django.core.management import call_command

            call_command("deploy_ecs", env=environment.name, stdout=self.stdout, stderr=self.stderr)
        elif action != "list":
            self.progress("The tasks get them at the next deploy_ecs (or now, with --deploy).")

    def ask(self, key: str) -> str:
        """A secret's value: from a prompt with no echo on a terminal, else one line of stdin."""
        if sys.stdin.isatty():
            return getpass.getpass(f"{key}: ")
        return sys.stdin.readline().rstrip("\n")

    def report(self, data, text: str) -> None:
        if self.as_json:
            self.emit_json(data)
        else:
            self.stdout.write(text)
