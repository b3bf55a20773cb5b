"""What ecr_deploy keeps in the project's own database."""

from django.db import models


class LoadedFixture(models.Model):
    """A fixture that a deploy loaded into this database: never loaded again over real data."""

    name = models.CharField(max_length=255, unique=True)
    loaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
