"""/api/comments"""

from __future__ import annotations

from mockcvat.api import Api
from mockcvat.routes.crud import Model, add_crud_routes
from mockcvat.schemas.issues import CommentRead, CommentWrite
from mockcvat.services import issues

api = Api("comments")

add_crud_routes(api, "/api/comments", Model(
    "comment", "comments", CommentRead, CommentWrite, create=issues.create_comment,
    retrieve=issues.retrieve_comment, update=issues.update_comment,
    destroy=issues.destroy_comment, listing=issues.COMMENTS, list_=issues.list_comments))
