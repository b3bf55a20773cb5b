from rest_framework import viewsets

from clientes.models import Cliente
from clientes.serializers import ClienteSerializer


class ClientesViewSet(viewsets.ModelViewSet):
    """Customers: list (paginated, ?search=, ?ordering=), create, retrieve, update, delete."""

    queryset = Cliente.objects.all()
    serializer_class = ClienteSerializer
    search_fields = ["nome", "email"]
    ordering_fields = ["id", "nome", "email"]
    ordering = ["id"]
