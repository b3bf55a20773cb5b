from django.core.management.base import CommandError

from ecr_deploy import conf
from ecr_deploy.management.commands._base import EcrDeployCommand
from ecr_deploy.names import split_image_reference


def parse_build_args(pairs: list[str]) -> dict[str, str]:
    """['K=V', ...] -> {'K': 'V'}; a pair without '=' is an error."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--build-arg {pair!r} must be KEY=VALUE, e.g. --build-arg BASE_IMAGE=python:3.13-slim.")
        parsed[key] = value
    return parsed


class Command(EcrDeployCommand):
    help = "Build the project's image through the Docker engine (the course's `docker build . -t producao:V1`)."
    json_flag = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--tag",
            action="append",
            dest="tags",
            metavar="NAME:TAG",
            help="Image name and tag (default from ECR_DEPLOY: producao:V1); repeat for more.",
        )
        parser.add_argument(
            "--env", help="Name the image after this environment's REPOSITORY and TAG (ECR_DEPLOY['ENVIRONMENTS'])."
        )
        parser.add_argument("--base-image", help="The Dockerfile's BASE_IMAGE build argument.")
        parser.add_argument("--no-cache", action="store_true", help="Build every step again.")
        parser.add_argument("--pull", action="store_true", help="Pull a newer base image first.")
        parser.add_argument(
            "--build-arg", action="append", default=[], metavar="K=V", help="A build argument; repeat for more."
        )
        parser.add_argument("--platform", help="Target platform, e.g. linux/amd64.")

    def handle(self, *args, tags, env, base_image, no_cache, pull, build_arg, platform, **options):
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.image.build import BuildRequest, build_image
        from ecr_deploy.image.engine import engine

        environment = resolve_environment(env)
        tags = tags or [f"{environment.repository}:{environment.tag}"]
        for tag in tags:
            split_image_reference(tag)
        cli_build_args = parse_build_args(build_arg)
        if base_image and "BASE_IMAGE" in cli_build_args:
            raise CommandError("Give the base image once: --base-image or --build-arg BASE_IMAGE=..., not both.")
        build_args = dict(conf.get("BUILD_ARGS"))
        if conf.get("BASE_IMAGE"):
            build_args["BASE_IMAGE"] = conf.get("BASE_IMAGE")
        build_args.update(cli_build_args)
        if base_image:
            build_args["BASE_IMAGE"] = base_image
        request = BuildRequest(
            context_dir=conf.path("CONTEXT_DIR"),
            dockerfile=str(conf.get("DOCKERFILE")),
            tags=tags,
            build_args=build_args,
            no_cache=no_cache,
            pull=pull,
            platform=platform,
        )
        self.progress(self.style.MIGRATE_HEADING(f"Building {', '.join(tags)} from {request.context_dir}"))
        result = build_image(engine(), request, output=lambda text: self.progress(text, level=2, ending=""))
        if self.as_json:
            self.emit_json(result)
            return
        self.progress(
            self.style.SUCCESS(f"Built {result.image_id[:19]} ({result.size_bytes / 1e6:.1f} MB)")
            + f" tagged {', '.join(result.tags)} in {result.seconds:.1f}s,"
            + f" {result.cached_steps}/{result.steps} steps from cache."
        )
