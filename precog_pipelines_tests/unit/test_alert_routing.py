"""The alert routing file: the shipped one is valid, a bad one is refused whole at start in one line
naming the field and its value, and routes are tried in order."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from precog_pipelines.cli import precog
from precog_pipelines.lib.alert_routing import SHIPPED_ROUTING_FILE, RoutingError, load_routing
from precog_pipelines.lib.settings import SettingError, validate_settings

GOOD_CHANNELS = "channels: {console: {type: log}}\n"
ONE_ROUTE = "routes: [{severities: '*', channels: [console]}]\n"


def test_the_shipped_routing_file_is_valid_and_routes_by_severity():
    routing = load_routing(SHIPPED_ROUTING_FILE, {})

    assert [routing.channels_for(s, "any_job") for s in ("info", "warning", "error", "critical")] == [
        ["log"], ["log", "alerts_file"], ["log", "alerts_file", "webhook"], ["log", "alerts_file", "webhook"]]
    assert routing.dedupe_window_minutes == 60 and routing.retry.attempts == 3


def test_routes_are_tried_in_order_and_components_are_shell_patterns(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("channels: {a: {type: log}, b: {type: file, path: x.jsonl}}\n"
                    "routes:\n"
                    "  - {severities: [warning, error], components: ['risk_*', 'trading_halts'], channels: [b]}\n"
                    "  - {severities: '*', channels: [a, a]}\n")
    routing = load_routing(path, {})

    assert routing.channels_for("warning", "risk_limits") == ["b"]
    assert routing.channels_for("error", "trading_halts") == ["b"]
    assert routing.channels_for("critical", "risk_limits") == ["a"]
    assert routing.channels_for("warning", "kalshi_ingestion") == ["a"]


@pytest.mark.parametrize(("text", "message"), [
    (GOOD_CHANNELS + "routes: [{severities: [fatal], channels: [console]}]",
     "routes[0].severities[0] = 'fatal': input should be 'info', 'warning', 'error' or 'critical'"),
    (GOOD_CHANNELS + "routes: [{severities: [info], channels: [consol]}]",
     "routes[0].channels[0] = 'consol': not a channel of channels (console)"),
    ("channels: {pager: {type: sms}}\n" + ONE_ROUTE,
     "channels.pager.type = 'sms': not one of log, file, webhook, slack, email"),
    ("channels: {hook: {type: webhook, url: 'ftp://example.com/x'}}\n" + ONE_ROUTE,
     "channels.hook.url: the URL is not an http(s) URL"),
    ("channels: {hook: {type: slack}}\n" + ONE_ROUTE, "channels.hook: give exactly one of url and url_env"),
    ("channels: {hook: {type: webhook, url_env: 'not a name'}}\n" + ONE_ROUTE,
     "channels.hook.url_env = 'not a name': not an environment variable name"),
    ("channels: {hook: {type: webhook, url: 'http://h/x', timeout_seconds: 0}}\n" + ONE_ROUTE,
     "channels.hook.timeout_seconds = 0: input should be greater than 0"),
    ("channels: {mail: {type: email, host: h, sender: a@b.c, to: [nobody]}}\n" + ONE_ROUTE,
     "channels.mail.to[0] = 'nobody': string should match pattern"),
    ("channels: {mail: {type: email, host: h, sender: a@b.c, to: [x@y.z], port: 70000}}\n" + ONE_ROUTE,
     "channels.mail.port = 70000: input should be less than or equal to 65535"),
    ("channels: {mail: {type: email, host: h, sender: a@b.c, to: [x@y.z], username: u, "
     "password_env: UNSET_SMTP_PASSWORD}}\n" + ONE_ROUTE,
     "channels.mail.password_env = 'UNSET_SMTP_PASSWORD': that variable is not set"),
    ("channels: {out: {type: file}}\n" + ONE_ROUTE, "channels.out.path: missing (required)"),
    ("channels: {console: {type: log, colour: red}}\n" + ONE_ROUTE,
     "channels.console.colour = 'red': not a known field"),
    ("dedupe_window_minutes: -1\n" + GOOD_CHANNELS + ONE_ROUTE,
     "dedupe_window_minutes = -1: input should be greater than or equal to 0"),
    ("retry: {attempts: 0}\n" + GOOD_CHANNELS + ONE_ROUTE,
     "retry.attempts = 0: input should be greater than or equal to 1"),
    (GOOD_CHANNELS + "routes: []", "routes = []: list should have at least 1 item"),
    (GOOD_CHANNELS, "routes: missing (required)"),
    ("- just a list", "holds ['just a list'], not a mapping with channels and routes"),
    ("channels: [unclosed\n", "not valid YAML at line 2, column 1"),
])
def test_a_bad_routing_file_is_refused_in_one_line_naming_the_field_and_value(tmp_path, text, message):
    path = tmp_path / "routing.yaml"
    path.write_text(text)

    with pytest.raises(RoutingError) as refused:
        load_routing(path, {})

    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert str(refused.value).startswith(f"{path}: ")


def test_a_secret_webhook_url_is_never_shown_in_the_refusal(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text("channels: {hook: {type: slack, url_env: HOOK}}\n" + ONE_ROUTE)

    with pytest.raises(RoutingError) as refused:
        load_routing(path, {"HOOK": "https://hooks.example.com:99999/services/s3cr3t"})

    assert "channels.hook.url_env (HOOK): the URL is not a valid URL" in str(refused.value)
    assert "s3cr3t" not in str(refused.value)


def test_the_setting_refuses_a_bad_routing_file_at_start_in_one_line(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text(GOOD_CHANNELS + "routes: [{severities: [info], channels: [pager]}]")

    with pytest.raises(SettingError) as refused:
        validate_settings({"PRECOG_ALERT_ROUTING_FILE": str(path)})

    assert str(refused.value) == (f"PRECOG_ALERT_ROUTING_FILE {str(path)!r} is not a usable alert routing file: "
                                  "routes[0].channels[0] = 'pager': not a channel of channels (console)")
    with pytest.raises(SettingError, match="cannot be read"):
        validate_settings({"PRECOG_ALERT_ROUTING_FILE": str(tmp_path / "missing.yaml")})


def test_every_command_refuses_a_bad_routing_file_before_doing_anything(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text("channels: {console: {type: log}}\nroutes: [{severities: [fatal], channels: [console]}]")

    result = CliRunner().invoke(precog, ["alerts", "list"], env={"PRECOG_ALERT_ROUTING_FILE": str(path),
                                                                 "PRECOG_HOME": str(tmp_path / "home")})

    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "routes[0].severities[0] = 'fatal'" in result.output
    assert not (tmp_path / "home").exists(), "nothing was started"
