"""The documentation's references are made from the code (scripts/docs_hooks.py, run by `make lint`'s strict
MkDocs build): a flag, a setting or a Terraform variable without its text stops the build."""

import pytest
from django.core.management.base import BaseCommand

from scripts import docs_hooks
from tests.conftest import ROOT


class Documented(BaseCommand):
    help = "Does one thing."

    def add_arguments(self, parser):
        parser.add_argument("--tag", default="V1", help="The image's tag.")


class Undocumented(Documented):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--fast")


def test_each_flag_is_listed_with_its_help_and_default_and_djangos_own_are_not():
    reference = docs_hooks.command_reference([("documented", Documented())])
    assert "## documented\n\nDoes one thing." in reference
    assert "| `--tag` | The image's tag. | `V1` |" in reference
    assert "--verbosity" not in reference.split("```")[2]  # the table, past the usage line


def test_a_flag_added_without_a_help_text_stops_the_build():
    with pytest.raises(docs_hooks.DocumentationGap, match=r"manage.py undocumented: `--fast` has no help text"):
        docs_hooks.command_reference([("undocumented", Undocumented())])


def test_every_command_of_ecr_deploy_is_in_the_reference_with_every_flag():
    commands = docs_hooks.ecr_deploy_commands()
    reference = docs_hooks.command_reference(commands)
    assert {name for name, _ in commands} >= {"build_image", "publish_ecr", "deploy_ecs", "ecr_deploy_init"}
    for name, command in commands:
        section = reference.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        for action in command.create_parser("manage.py", name)._actions:
            if action.dest not in docs_hooks.DJANGO_OPTIONS and action.option_strings:
                assert f"`{action.option_strings[0]}`" in section, (name, action.option_strings)


def test_a_setting_without_its_meaning_stops_the_build_and_each_has_one():
    from ecr_deploy.defaults import DEFAULTS, ECS_DEFAULTS, KEYS, STATE_DEFAULTS

    with pytest.raises(docs_hooks.DocumentationGap, match=r"ECR_DEPLOY key ECS.NEW has no type and meaning"):
        docs_hooks.settings_reference({"ECS": {**ECS_DEFAULTS, "NEW": 1}}, KEYS)
    reference = docs_hooks.settings_reference({"": DEFAULTS, "ECS": ECS_DEFAULTS, "STATE": STATE_DEFAULTS}, KEYS)
    assert "| `BAKE_SECONDS` | `int` | `180` |" in reference


def test_a_terraform_variable_without_a_description_stops_the_build(tmp_path):
    for folder in docs_hooks.TERRAFORM_FOLDERS:
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "variaveis.tf").write_text('variable "nome" {\n  type = string\n}\n')
    with pytest.raises(docs_hooks.DocumentationGap, match=r"infra/variaveis.tf: variable nome has no description"):
        docs_hooks.terraform_reference(tmp_path)
    assert "| `tarefas_max` | `number` | `4` |" in docs_hooks.terraform_reference()


def test_every_checkov_skip_is_listed_with_its_reason():
    skips = docs_hooks.checkov_skips()
    assert "| `infra/ecs/alb.tf` | `CKV2_AWS_28` | WAF is not made here" in skips


def test_the_readme_fits_on_a_screen_or_two_and_links_into_the_site():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 8 * 1024
    for target in ("docs/tutorial.md", "docs/reference/commands.md", "docs/reference/settings.md"):
        assert f"]({target})" in readme and (ROOT / target).is_file()
    assert "make demo" in readme and "make test" in readme and "docker build . -t producao:V1" in readme
