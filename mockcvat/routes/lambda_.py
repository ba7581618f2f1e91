"""/api/lambda: AI functions and their requests"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from mockcvat import compat
from mockcvat.api import Api, Body, Context, Reply
from mockcvat.listing import ORG_PARAMETERS
from mockcvat.routes.requests import rq_id as path_rq_id
from mockcvat.schemas.lambda_ import FunctionCall, FunctionCallRequest, OnlineFunctionCall
from mockcvat.services import lambda_functions as service

api = Api("lambda")
FUNCTION = "/api/lambda/functions/{func_id:funcid}"
REQUEST = "/api/lambda/requests/{id:rqid}"


def func_id(ctx: Context) -> str:
    """The id in the URL; from 2.75 one starting with ``_``, ``.`` or ``-`` matches no route
    (Django's 404 page)."""
    value = str(ctx.request.path_params["func_id"])
    if ctx.mock.compat.has(since=compat.FUNCTION_ID_START) and not value[:1].isalnum():
        raise HTTPException(404)
    return value


@api.operation("GET", "/api/lambda/functions", "lambda_list_functions",
               summary="Method returns a list of functions", responses={200: Reply()})
async def lambda_list_functions(ctx: Context) -> Any:
    return service.list_functions(ctx)


@api.operation("GET", FUNCTION, "lambda_retrieve_functions",
               summary="Method returns the information about the function",
               responses={200: Reply(schema={"type": "object"},
                                     description="Information about the function")})
async def lambda_retrieve_functions(ctx: Context) -> Any:
    return service.retrieve_function(ctx, func_id(ctx))


@api.operation("POST", FUNCTION, "lambda_create_functions",
               summary="Allows to execute a function for immediate computation",
               body=Body(OnlineFunctionCall, required=False),
               responses={200: Reply(description="Returns function invocation results")})
async def lambda_create_functions(ctx: Context) -> Any:
    call = service.prepare_online(ctx, func_id(ctx), await ctx.json())
    return await run_in_threadpool(service.run_online, call)  # a model may take its time


@api.operation("GET", "/api/lambda/requests", "lambda_list_requests",
               summary="Method returns a list of requests",
               responses={200: Reply(FunctionCall, many=True)})
async def lambda_list_requests(ctx: Context) -> Any:
    return service.list_requests(ctx)


@api.operation("POST", "/api/lambda/requests", "lambda_create_requests",
               summary="Method calls the function", parameters=ORG_PARAMETERS,
               body=Body(FunctionCallRequest), responses={200: Reply(FunctionCall)})
async def lambda_create_requests(ctx: Context) -> Any:
    return service.create_request(ctx, await ctx.json())


@api.operation("GET", REQUEST, "lambda_retrieve_requests",
               summary="Method returns the status of the request",
               responses={200: Reply(FunctionCall)})
async def lambda_retrieve_requests(ctx: Context) -> Any:
    return service.retrieve_request(ctx, path_rq_id(ctx))


@api.operation("DELETE", REQUEST, "lambda_delete_requests", status=204,
               summary="Method cancels the request",
               responses={204: Reply(description="The request has been cancelled")})
async def lambda_delete_requests(ctx: Context) -> Any:
    service.delete_request(ctx, path_rq_id(ctx))
    return Response(status_code=204)
