"""/api/issues"""

from __future__ import annotations

from mockcvat.api import Api
from mockcvat.routes.crud import Model, add_crud_routes
from mockcvat.schemas.issues import IssueRead, IssueWrite
from mockcvat.services import issues

api = Api("issues")

add_crud_routes(api, "/api/issues", Model(
    "issue", "issues", IssueRead, IssueWrite, create=issues.create_issue,
    retrieve=issues.retrieve_issue, update=issues.update_issue, destroy=issues.destroy_issue,
    listing=issues.ISSUES, list_=issues.list_issues))
