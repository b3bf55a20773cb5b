"""What builds and runs images through the Docker engine: the client, the build, the registry through the engine,
the ALLOWED_HOSTS patch, ecr_deploy_init and its templates."""
