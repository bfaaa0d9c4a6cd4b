"""``aboutcloud top`` over real storages: stored scores, on-the-fly aggregation, JSON, edges."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from backend.analytics.aggregation import AggregationPipeline
from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult
from backend.cli.top_cmd import collect_top, register, report_as_dict, run_top
from backend.storage.interface import StorageBackend
from backend.storage.memory_storage import InMemoryStorage

T0 = datetime(2024, 3, 1, 12, 0)
WIDE = {"COLUMNS": "200"}


def result(
    node: str, metric: str, score: float, cluster: str = "c1", tenant: str = "t1"
) -> AnomalyResult:
    label = "spike" if score >= 0.5 else "normal"
    return AnomalyResult(tenant, cluster, node, metric, T0, T0 + timedelta(minutes=5), score, label)


def sample_results(tenant: str = "t1") -> list[AnomalyResult]:
    return [
        result("node-7", "cpu_usage", 0.93, tenant=tenant),
        result("node-7", "latency", 0.55, tenant=tenant),
        result("node-2", "memory_usage", 0.40, tenant=tenant),
        result("node-9", "disk_io", 0.75, cluster="c2", tenant=tenant),
        result("node-4", "cpu_usage", 0.10, cluster="c2", tenant=tenant),
    ]


def storage_with_results(tenant: str = "t1") -> InMemoryStorage:
    storage = InMemoryStorage()
    storage.store_anomaly_results(tenant, sample_results(tenant))
    return storage


def storage_with_scores() -> InMemoryStorage:
    storage = storage_with_results()
    storage.store_aggregated_scores(AggregationPipeline().run(sample_results()).all_scores())
    return storage


def group_app() -> typer.Typer:
    """A multi-command app like the real one (a lone command would become the app itself)."""
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """AboutCloud."""

    return app


def cli(storage: StorageBackend, opened: list[str | None] | None = None) -> typer.Typer:
    app = group_app()

    def opener(url: str | None) -> StorageBackend:
        if opened is not None:
            opened.append(url)
        return storage

    register(app, open_storage=opener)
    return app


def invoke(storage: StorageBackend, *args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(cli(storage), ["top", *args], env=WIDE)
    return outcome.exit_code, outcome.output


def node_order(text: str, nodes: list[str]) -> list[str]:
    return sorted(nodes, key=text.index)


def test_top_stored_scores_ranked_worst_first_with_contributors() -> None:
    code, out = invoke(storage_with_scores(), "--tenant", "t1")
    assert code == 0, out
    assert "stored scores" in out
    assert node_order(out, ["node-7", "node-9", "node-2", "node-4"]) == [
        "node-7",
        "node-9",
        "node-2",
        "node-4",
    ]
    assert "cpu_usage 0.93 (100 %)" in out
    assert "node node-7 ranks first with 0.93 (max): cpu_usage 0.93 (100 %)" in out


def test_top_computes_from_anomaly_results_when_no_scores_stored() -> None:
    report = collect_top(storage_with_results(), "t1")
    assert report.source == "computed"
    assert [s.node_id for s in report.nodes] == ["node-7", "node-9", "node-2", "node-4"]
    assert [s.cluster_id for s in report.clusters] == ["c1", "c2"]
    code, out = invoke(storage_with_results(), "--tenant", "t1")
    assert code == 0 and "aggregated now from stored anomaly results" in out


def test_top_computed_and_stored_agree() -> None:
    stored = collect_top(storage_with_scores(), "t1")
    computed = collect_top(storage_with_results(), "t1")
    assert stored.source == "stored"
    assert [(s.node_id, s.aggregate_score) for s in stored.nodes] == [
        (s.node_id, s.aggregate_score) for s in computed.nodes
    ]


def test_top_uses_latest_stored_score_per_node() -> None:
    storage = InMemoryStorage()
    old = AggregatedAnomalyScore("t1", 0.99, "c1", "node-1", timestamp=T0)
    new = AggregatedAnomalyScore("t1", 0.10, "c1", "node-1", timestamp=T0 + timedelta(hours=1))
    other = AggregatedAnomalyScore("t1", 0.50, "c1", "node-2", timestamp=T0)
    storage.store_aggregated_scores([old, new, other])
    report = collect_top(storage, "t1")
    assert [(s.node_id, s.aggregate_score) for s in report.nodes] == [
        ("node-2", 0.5),
        ("node-1", 0.1),
    ]
    assert [c.cluster_id for c in report.clusters] == ["c1"]
    assert report.clusters[0].aggregate_score == 0.5


def test_top_n_limits_nodes_and_clusters() -> None:
    report = collect_top(storage_with_scores(), "t1", top_n=1)
    assert [s.node_id for s in report.nodes] == ["node-7"]
    assert [s.cluster_id for s in report.clusters] == ["c1"]
    code, out = invoke(storage_with_scores(), "--tenant", "t1", "-n", "2", "--json")
    assert code == 0
    assert [n["node_id"] for n in json.loads(out)["nodes"]] == ["node-7", "node-9"]


def test_top_cluster_filter_keeps_one_cluster() -> None:
    for storage in (storage_with_scores(), storage_with_results()):
        report = collect_top(storage, "t1", cluster_id="c2")
        assert {s.cluster_id for s in report.nodes} == {"c2"}
        assert [s.node_id for s in report.nodes] == ["node-9", "node-4"]


def test_top_json_output_is_parseable_with_provenance() -> None:
    code, out = invoke(storage_with_scores(), "--tenant", "t1", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["source"] == "stored" and payload["tenant_id"] == "t1"
    first = payload["nodes"][0]
    assert (first["rank"], first["node_id"], first["aggregate_score"]) == (1, "node-7", 0.93)
    assert sum(c["share"] for c in first["contributors"]) == pytest.approx(1.0)
    assert first["explanation"].startswith("node node-7 ranks first")
    assert [c["cluster_id"] for c in payload["clusters"]] == ["c1", "c2"]


def test_top_json_for_tenant_without_data_is_empty_lists() -> None:
    code, out = invoke(storage_with_scores(), "--tenant", "nobody", "--json")
    assert code == 0
    assert json.loads(out) == {
        "tenant_id": "nobody",
        "cluster_id": None,
        "source": "empty",
        "nodes": [],
        "clusters": [],
    }


def test_top_tenant_without_data_says_so_and_exits_zero() -> None:
    code, out = invoke(storage_with_scores(), "--tenant", "nobody")
    assert code == 0
    assert "No aggregated scores or anomaly results stored for tenant nobody." in out


def test_top_other_tenants_data_is_not_shown() -> None:
    storage = storage_with_results("t1")
    storage.store_anomaly_results("t2", [result("secret-node", "cpu_usage", 0.99, tenant="t2")])
    code, out = invoke(storage, "--tenant", "t1")
    assert code == 0 and "secret-node" not in out


def test_top_empty_storage_without_tenant_exits_zero_with_message() -> None:
    code, out = invoke(InMemoryStorage())
    assert code == 0
    assert "Nothing stored yet" in out


def test_top_without_tenant_when_data_exists_is_a_usage_error() -> None:
    code, out = invoke(storage_with_results())
    assert code == 2
    assert "--tenant" in out


@pytest.mark.parametrize("n", ["0", "-3"])
def test_top_rejects_non_positive_n(n: str) -> None:
    code, _ = invoke(storage_with_scores(), "--tenant", "t1", "-n", n)
    assert code == 2


def test_top_passes_database_url_to_the_opener() -> None:
    opened: list[str | None] = []
    runner = CliRunner()
    app = cli(InMemoryStorage(), opened)
    runner.invoke(app, ["top", "--database-url", "memory://"], env=WIDE)
    assert opened == ["memory://"]


def test_run_top_renders_into_a_given_console() -> None:
    buffer = io.StringIO()
    status = run_top(storage_with_scores(), "t1", console=Console(file=buffer, width=200))
    assert status == 0
    text = buffer.getvalue()
    assert "Nodes" in text and "Clusters" in text and "node-7" in text


def test_report_as_dict_ranks_are_consecutive() -> None:
    payload = report_as_dict(collect_top(storage_with_scores(), "t1"))
    assert [n["rank"] for n in payload["nodes"]] == [1, 2, 3, 4]


def test_top_default_opener_reads_a_sqlite_database(tmp_path: Path) -> None:
    from backend.storage.factory import open_storage

    url = f"sqlite:///{tmp_path / 'top.db'}"
    with open_storage(url) as storage:
        storage.store_anomaly_results("t1", sample_results())
    app = group_app()
    register(app)
    outcome = CliRunner().invoke(app, ["top", "--tenant", "t1", "--database-url", url], env=WIDE)
    assert outcome.exit_code == 0, outcome.output
    assert "node node-7 ranks first" in outcome.output


def test_top_default_opener_memory_url_is_empty() -> None:
    app = group_app()
    register(app)
    outcome = CliRunner().invoke(app, ["top", "--database-url", "memory://"], env=WIDE)
    assert outcome.exit_code == 0
    assert "Nothing stored yet" in outcome.output
