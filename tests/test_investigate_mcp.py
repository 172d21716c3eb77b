"""hubspot-activity mcp on the shared build: the SDK's own client, the server a stdio subprocess."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import typing as t

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from hubspot_activity_investigate.catalog import QUESTIONS
from tests.investigate_support import (
    CLI,
    INJECTIONS,
    PASSWORD,
    SIX,
    answered,
    closed_port,
    model_counts,
    warehouse_env,
)

TOOLS = {name.replace("-", "_") for name in QUESTIONS}
LISTS = {"types", "detections"}  # list parameters in MCP, comma-separated in the CLI
SESSION_TIMEOUT_S = 120


async def in_session(
    env: dict[str, str], errlog: t.TextIO, work: t.Callable[[ClientSession], t.Awaitable[t.Any]]
) -> t.Any:
    server = StdioServerParameters(command=str(CLI), args=["mcp"], env=env)
    # A server that hangs fails the test instead of holding the suite.
    with anyio.fail_after(SESSION_TIMEOUT_S):
        async with (
            stdio_client(server, errlog=errlog) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            return await work(client)


def session(env: dict[str, str], tmp_path, work) -> tuple[t.Any, str]:
    """Run `work` in a client session; its result and what the server wrote on stderr."""
    log = tmp_path / "server-stderr.log"
    with log.open("w") as errlog:
        result = anyio.run(in_session, env, errlog, work)
    return result, log.read_text()


def arguments(params: dict[str, str]) -> dict[str, t.Any]:
    return {key: value.split(",") if key in LISTS else value for key, value in params.items()}


def text_of(result) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


def structured(result) -> dict[str, t.Any]:
    assert not result.is_error, text_of(result)
    return result.structured_content or json.loads(text_of(result))


@pytest.fixture(scope="module")
def env(dbt_build):
    return warehouse_env(dbt_build)


def test_the_client_lists_every_tool_and_calls_each(dbt_build, env, tmp_path):
    async def work(client: ClientSession):
        listed = (await client.list_tools()).tools
        called = {}
        for tool in listed:
            called[tool.name] = await client.call_tool(
                tool.name,
                {"since": "2026-01-01", "until": "2026-10-02"}
                if "since" in tool.input_schema["properties"]
                else {},
            )
        return listed, called

    (listed, called), stderr = session(env, tmp_path, work)
    assert {tool.name for tool in listed} == TOOLS
    for tool in listed:
        question = QUESTIONS[tool.name.replace("_", "-")]
        assert tool.description == question.summary
        properties = tool.input_schema["properties"]
        assert set(properties) == {*question.params, "limit"}
        assert all(properties[name].get("description") for name in properties)
        assert tool.annotations.read_only_hint is True
        answer = structured(called[tool.name])
        assert answer["question"] == question.name
        assert answer["rowCount"] > 0, tool.name
    assert "Traceback" not in stderr


def test_the_six_questions_through_an_mcp_client_equal_their_sql(dbt_build, env, tmp_path):
    asked = [(case, case.params(dbt_build)) for case in SIX]

    async def work(client: ClientSession):
        return [
            await client.call_tool(
                case.question.replace("-", "_"), {**arguments(params), "limit": 5000}
            )
            for case, params in asked
        ]

    results, _ = session(env, tmp_path, work)
    for (case, params), result in zip(asked, results, strict=True):
        answer = structured(result)
        expected = case.expected(dbt_build, params)
        assert expected, case.title
        assert answered(answer, case) == expected, case.title


def test_injection_and_bad_input_are_tool_errors_that_change_nothing(dbt_build, env, tmp_path):
    before = model_counts(dbt_build)
    strings = {
        "user",
        "source",
        "action",
        "types",
        "change_type",
        "detections",
        "month",
        "since",
        "until",
        "as_of",
    }

    async def work(client: ClientSession):
        outcomes = []
        for name, question in QUESTIONS.items():
            for param in (p for p in question.params if p in strings):
                for attempt in INJECTIONS:
                    value = [attempt] if param in LISTS else attempt
                    tool = name.replace("-", "_")
                    outcomes.append((tool, param, await client.call_tool(tool, {param: value})))
        bad = {
            "unknown user": await client.call_tool("timeline", {"user": "999999999"}),
            "empty range": await client.call_tool(
                "timeline", {"since": "2026-10-01", "until": "2026-09-01"}
            ),
            "range over the cap": await client.call_tool("timeline", {"since": "400d"}),
            "non-numeric portal": await client.call_tool("timeline", {"portal": "62515abc"}),
            "non-numeric user": await client.call_tool("failed_logins", {"user": "12x45"}),
        }
        return outcomes, bad

    (outcomes, bad), stderr = session(env, tmp_path, work)
    for tool, param, result in outcomes:
        if result.is_error:
            assert "SQLSTATE" not in text_of(result)
        else:
            assert structured(result)["rowCount"] == 0, (tool, param, text_of(result))
    for what, result in bad.items():
        assert result.is_error, what
        assert "Traceback" not in text_of(result), what
    # Typed parameters are checked by the SDK against the tool's schema, which names them.
    assert "portal" in text_of(bad["non-numeric portal"])
    for what in ("unknown user", "empty range", "range over the cap", "non-numeric user"):
        assert "\n" not in text_of(bad[what]), what
    assert "no user 999999999" in text_of(bad["unknown user"])
    assert "the range is empty" in text_of(bad["empty range"])
    assert model_counts(dbt_build) == before
    for output in (stderr, *(text_of(result) for *_, result in outcomes)):
        assert PASSWORD not in output
        assert "Traceback" not in output


def test_an_unreachable_warehouse_is_a_tool_error_without_the_password(env, tmp_path):
    unreachable = {**env, "DBT_POSTGRES_PORT": str(closed_port())}

    async def work(client: ClientSession):
        return await client.call_tool("pipeline_health", {})

    result, stderr = session(unreachable, tmp_path, work)
    assert result.is_error
    assert "cannot connect to the warehouse" in text_of(result)
    assert PASSWORD not in text_of(result) + stderr
    assert "Traceback" not in stderr


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"nothing listens on 127.0.0.1:{port}")


def test_streamable_http_on_loopback(dbt_build, env, tmp_path):
    port = closed_port()
    log = (tmp_path / "http-server.log").open("wb")
    server = subprocess.Popen(
        [str(CLI), "mcp", "--http", str(port)], env=env, stdout=log, stderr=log
    )
    try:
        wait_for_port(port, server)

        async def work():
            with anyio.fail_after(SESSION_TIMEOUT_S):
                async with (
                    streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write),
                    ClientSession(read, write) as client,
                ):
                    await client.initialize()
                    tools = (await client.list_tools()).tools
                    return tools, await client.call_tool("pipeline_health", {})

        tools, health = anyio.run(work)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert {tool.name for tool in tools} == TOOLS
    assert structured(health)["rowCount"] == len(dbt_build.model("pipeline_health"))
    assert PASSWORD not in (tmp_path / "http-server.log").read_text()
