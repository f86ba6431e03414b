"""``[[metric]]`` definitions: parsed into typed values, every mistake one line (exit 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_releasegate.manager import get_plugin_manager, known_metrics
from pytest_releasegate.policy import Policy, PolicyError, load_policy
from pytest_releasegate.runtime_policy import CloudWatchQuery

METRICS = set(known_metrics(get_plugin_manager(entry_points=False)))

ERROR_RATE = """
[[metric]]
name = "api.error_rate"
provider = "cloudwatch"
window = "5m"
queries = [
  { id = "errors", namespace = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", dimensions = { LoadBalancer = "${ALB}" }, stat = "Sum", period = 60, return = false },
  { id = "requests", namespace = "AWS/ApplicationELB", metric = "RequestCount", dimensions = { LoadBalancer = "${ALB}" }, stat = "Sum", period = 60, return = false },
  { id = "rate", expression = "100 * FILL(errors, 0) / requests" },
]
reduce = "max"
fill = 0

[[metric]]
name = "api.p99_ms"
provider = "prometheus"
url = "${PROMETHEUS_URL}"
query = 'histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{job="api"}[5m])) by (le)) * 1000'
headers = { Authorization = "Bearer ${PROM_TOKEN}" }
timeout = 3

[[rule]]
name = "error rate under 1%"
metric = "api.error_rate"
max = 1
"""


def load(tmp_path: Path, text: str) -> Policy:
    (tmp_path / "releasegate.toml").write_text(text, encoding="utf-8")
    return load_policy(rootdir=tmp_path, metrics=METRICS)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load(tmp_path, text)
    return info.value.problems


def one_problem(tmp_path: Path, metric: str, rule_metric: str = "api.x") -> str:
    text = f'{metric}\n[[rule]]\nmetric = "{rule_metric}"\nmax = 1\n'
    (msg,) = problems(tmp_path, text)
    assert msg.startswith("releasegate.toml, metric ")
    return msg


def test_the_spec_example_parses_into_typed_values(tmp_path: Path) -> None:
    policy = load(tmp_path, ERROR_RATE)
    cw, prom = policy.runtime_metrics
    assert cw.name == "api.error_rate" and cw.provider == "cloudwatch"
    assert cw.window == 300 and cw.window_text == "5m" and cw.reduce == "max" and cw.fill == 0
    assert cw.aggregate == "worst"
    assert cw.queries[0] == CloudWatchQuery(
        id="errors",
        namespace="AWS/ApplicationELB",
        metric="HTTPCode_Target_5XX_Count",
        dimensions=(("LoadBalancer", "${ALB}"),),
        stat="Sum",
        period=60,
        returns=False,
    )
    assert (
        cw.returning.id == "rate" and cw.returning.expression == "100 * FILL(errors, 0) / requests"
    )
    assert prom.url == "${PROMETHEUS_URL}" and prom.timeout == 3
    assert prom.headers == (("Authorization", "Bearer ${PROM_TOKEN}"),)
    assert policy.rules[0].metric == "api.error_rate"


def test_a_rule_over_an_undeclared_runtime_metric_is_unknown_with_a_suggestion(
    tmp_path: Path,
) -> None:
    text = ERROR_RATE + '[[rule]]\nmetric = "api.eror_rate"\nmax = 1\n'
    (msg,) = problems(tmp_path, text)
    assert "unknown metric 'api.eror_rate'; did you mean 'api.error_rate'?" in msg


def test_a_single_query_needs_no_id(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\n'
        'queries = [{ namespace = "N", metric = "M", stat = "Average" }]\n'
        '[[rule]]\nmetric = "api.x"\nmax = 1\n',
    )
    (m,) = policy.runtime_metrics
    assert m.returning.id == "m" and m.window == 300 and m.returning.period == 60


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        (
            '[[metric]]\nname = "tests.failed"\nprovider = "prometheus"\nurl = "http://p"\nquery = "up"',
            "metric 'tests.failed', key 'name': 'tests.failed' is a built-in metric; a runtime "
            "metric may not shadow it",
        ),
        (
            '[[metric]]\nname = "smoke.mine"\nprovider = "prometheus"\nurl = "http://p"\nquery = "up"',
            "the smoke. namespace belongs to built-in metrics",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwach"',
            "metric 'api.x', key 'provider': unknown provider 'cloudwach'; did you mean 'cloudwatch'?",
        ),
        ('[[metric]]\nname = "api.x"', "key 'provider': missing"),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"',
            "key 'queries': missing: the CloudWatch queries",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "prometheus"\nurl = "http://p"',
            "key 'query': missing: the PromQL expression to evaluate",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "prometheus"\nquery = "up"',
            "key 'url': missing",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\n'
            'queries = [{ id = "a", namespace = "N", metric = "M", stat = "Sum", return = false }]',
            "key 'queries': no query returns data",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\n'
            'queries = [{ id = "a", namespace = "N", metric = "M", stat = "Sum" },'
            ' { id = "b", expression = "a * 2" }]',
            "key 'queries': 2 queries return data (a, b); exactly one must",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\nwindow = "5 minutes"\n'
            'queries = [{ namespace = "N", metric = "M", stat = "Sum" }]',
            "key 'window': not a duration: '5 minutes'",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\nwindow = "30s"\n'
            'queries = [{ namespace = "N", metric = "M", stat = "Sum" }]',
            "key 'window': the window (30s) is shorter than a query's period (60 s)",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\nreduce = "maxx"\n'
            'queries = [{ namespace = "N", metric = "M", stat = "Sum" }]',
            "key 'reduce': must be one of max, min, avg, sum, last, not 'maxx'; did you mean 'max'?",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\nfill = "zero"\n'
            'queries = [{ namespace = "N", metric = "M", stat = "Sum" }]',
            "key 'fill': must be a number",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "prometheus"\nurl = "http://p"\nquery = "up"\n'
            'aggregate = "worse"',
            "key 'aggregate': must be one of worst, last, avg, not 'worse'; did you mean 'worst'?",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "prometheus"\nurl = "http://p"\nquery = "up"\n'
            'window = "5m"',
            "key 'window': not a prometheus key (a Prometheus query carries its own range",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\n'
            'queries = [{ namespace = "N", metric = "M", stat = "sum" }]',
            "key 'queries[1].stat': not a CloudWatch statistic: 'sum'; did you mean 'Sum'?",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\n'
            'queries = [{ namespace = "N", metric = "M", stat = "Sum", perod = 60 }]',
            "key 'queries[1].perod': unknown key 'perod'; did you mean 'period'?",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\n'
            'queries = [{ namespace = "N", metric = "M", stat = "Sum", period = 45 }]',
            "key 'queries[1].period': not a CloudWatch period: 45",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\n'
            'queries = [{ id = "a", namespace = "N", metric = "M", stat = "Sum", return = false },'
            ' { id = "b", expression = "a", namespace = "N" }]',
            "key 'queries[2].namespace': a query is either an `expression` or a metric",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "cloudwatch"\n'
            'queries = [{ id = "Errors", namespace = "N", metric = "M", stat = "Sum" }]',
            "key 'queries[1].id': 'Errors' is not a valid id",
        ),
        (
            '[[metric]]\nname = "api.x"\nprovider = "prometheus"\nurl = "http://p"\nquery = "up"\n'
            "timeout = 0",
            "key 'timeout': must be a number of seconds",
        ),
    ],
)
def test_bad_definitions_are_one_line_naming_file_metric_and_key(
    tmp_path: Path, metric: str, expected: str
) -> None:
    rule_metric = "api.x" if "api.x" in metric else "tests.failed"
    msg = one_problem(tmp_path, metric, rule_metric)
    assert expected in msg


def test_duplicate_metric_names_are_refused(tmp_path: Path) -> None:
    one = '[[metric]]\nname = "api.x"\nprovider = "prometheus"\nurl = "http://p"\nquery = "up"\n'
    (msg,) = problems(tmp_path, one + one + '[[rule]]\nmetric = "api.x"\nmax = 1\n')
    assert "metric 'api.x', key 'name': duplicate metric name" in msg


def test_select_on_a_runtime_rule_is_refused(tmp_path: Path) -> None:
    text = (
        ERROR_RATE
        + '[[rule]]\nname = "sel"\nmetric = "api.p99_ms"\nmax = 1\nselect = { marker = "x" }\n'
    )
    (msg,) = problems(tmp_path, text)
    assert "rule 'sel', key 'select': 'api.p99_ms' is a runtime metric" in msg


def test_a_bake_may_watch_runtime_metrics_without_smoke_checks(tmp_path: Path) -> None:
    policy = load(tmp_path, ERROR_RATE + '[bake]\nduration = "10m"\ninterval = "30s"\n')
    assert [r.name for r in policy.rules] == ["error rate under 1%", "bake"]


def test_the_metric_key_must_be_an_array_of_tables(tmp_path: Path) -> None:
    (msg,) = problems(tmp_path, 'metric = "x"\n[[rule]]\nmetric = "tests.failed"\nmax = 0\n')
    assert "key 'metric': must be an array of tables" in msg
