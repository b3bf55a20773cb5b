"""The worker's jobs."""

import logging
import socket

from clientes.models import BoasVindas, Cliente
from setup.celery import app

logger = logging.getLogger(__name__)


@app.task
def enviar_boas_vindas(cliente_id: int) -> int:
    """Write the customer's welcome message, naming the host that wrote it; its id."""
    cliente = Cliente.objects.get(pk=cliente_id)
    mensagem = BoasVindas.objects.create(cliente=cliente, texto=f"Bem-vindo, {cliente.nome}! ({socket.gethostname()})")
    logger.info("boas-vindas %s para o cliente %s", mensagem.id, cliente_id)
    return mensagem.id
