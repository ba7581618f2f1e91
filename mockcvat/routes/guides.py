"""/api/guides (annotation guides of tasks and projects)"""

from __future__ import annotations

from mockcvat.api import Api
from mockcvat.routes.crud import Model, add_crud_routes
from mockcvat.schemas.guides import AnnotationGuideRead, AnnotationGuideWrite
from mockcvat.services import guides

api = Api("guides")

add_crud_routes(api, "/api/guides", Model(
    "annotation guide", "annotation guides", AnnotationGuideRead, AnnotationGuideWrite,
    create=guides.create_guide, retrieve=guides.retrieve_guide, update=guides.update_guide,
    destroy=guides.destroy_guide, org_create=False))
