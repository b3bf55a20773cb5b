from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clientes.models import Cliente
from clientes.serializers import ClienteSerializer


class ClientesViewSet(viewsets.ModelViewSet):
    """Customers: list (paginated, ?search=, ?ordering=), create, retrieve, update, delete."""

    queryset = Cliente.objects.all()
    serializer_class = ClienteSerializer
    search_fields = ["nome", "email"]
    ordering_fields = ["id", "nome", "email"]
    ordering = ["id"]

    @action(detail=True, methods=["get", "post"], url_path="boas-vindas")
    def boas_vindas(self, request: Request, pk: str) -> Response:
        """POST queues the customer's welcome message for the worker (202); GET lists those it wrote."""
        cliente = self.get_object()
        if request.method == "POST":
            from clientes.tasks import enviar_boas_vindas  # Celery is imported by the requests that queue a job

            enviar_boas_vindas.delay(cliente.id)
            return Response({"fila": "default"}, status=status.HTTP_202_ACCEPTED)
        mensagens = [
            {"texto": m.texto, "criada_em": m.criada_em.isoformat()} for m in cliente.boas_vindas.order_by("id")
        ]
        return Response(mensagens)
