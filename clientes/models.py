from django.db import models


class Cliente(models.Model):
    nome = models.CharField(max_length=50)
    email = models.EmailField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.nome


class BoasVindas(models.Model):
    """A welcome message, written by the worker's job (clientes/tasks.py) that the API queued."""

    cliente = models.ForeignKey(Cliente, on_delete=models.CASCADE, related_name="boas_vindas")
    texto = models.CharField(max_length=120)
    criada_em = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
