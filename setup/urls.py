"""URL routes: the admin, the browsable API's login and logout, and the clientes API at the root."""

from django.contrib import admin
from django.urls import include, path
from rest_framework import routers

from clientes.views import ClientesViewSet

router = routers.DefaultRouter()
router.register("clientes", ClientesViewSet, basename="clientes")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api-auth/", include("rest_framework.urls")),
    path("", include(router.urls)),
]
