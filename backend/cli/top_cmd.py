"""``aboutcloud top``: a tenant's most anomalous nodes and clusters, and what drove them.

Scores come from the stored aggregated scores (the latest per node and per cluster). When a
tenant has anomaly results but no stored scores yet, they are aggregated on the fly with
:class:`~backend.analytics.aggregation.AggregationPipeline` over every stored result.

``--tenant`` is required once anything is stored (the storage interface has no way to list
tenants); with an empty storage the command says so and exits 0, as it does for a tenant
with nothing stored.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from backend.analytics.aggregation import AggregationPipeline
from backend.analytics.ranking import describe_contributors, explain_rank, rank_scores
from backend.analytics.types import AggregatedAnomalyScore, AnomalyResult
from backend.storage.interface import StorageBackend

__all__ = ["TopReport", "collect_top", "register", "render_top", "report_as_dict", "run_top"]

StorageOpener = Callable[[str | None], StorageBackend]
JSON_CONTRIBUTORS = 10
"""How many contributors (largest shares first) each score lists in ``--json`` output."""
_RESULT_FIELDS = frozenset(f.name for f in dataclasses.fields(AnomalyResult))


@dataclass(frozen=True)
class TopReport:
    """What ``top`` shows: ranked node and cluster scores and where they came from.

    ``source`` is ``stored`` (aggregated scores read back), ``computed`` (aggregated now from
    stored anomaly results) or ``empty`` (nothing stored for the tenant).
    """

    tenant_id: str
    source: str
    nodes: tuple[AggregatedAnomalyScore, ...] = ()
    clusters: tuple[AggregatedAnomalyScore, ...] = ()
    cluster_id: str | None = None

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to rank."""
        return not self.nodes and not self.clusters


def collect_top(
    storage: StorageBackend,
    tenant_id: str,
    cluster_id: str | None = None,
    top_n: int = 10,
    pipeline: AggregationPipeline | None = None,
) -> TopReport:
    """Rank the tenant's nodes and clusters, preferring stored scores."""
    pipeline = pipeline or AggregationPipeline()
    nodes = storage.query_aggregated_scores(
        tenant_id, level="node", cluster_id=cluster_id, latest_only=True
    )
    clusters = storage.query_aggregated_scores(
        tenant_id, level="cluster", cluster_id=cluster_id, latest_only=True
    )
    source = "stored"
    if not nodes:
        rows = storage.query_anomalies(tenant_id, cluster_id=cluster_id, min_score=0.0)
        if rows:
            outcome = pipeline.run(_result_from_row(row) for row in rows)
            nodes, clusters, source = list(outcome.nodes), list(outcome.clusters), "computed"
    elif not clusters:
        clusters = pipeline.aggregate_clusters(_by_cluster(nodes))
    if not nodes and not clusters:
        source = "empty"
    return TopReport(
        tenant_id,
        source,
        tuple(rank_scores(nodes, top_n)),
        tuple(rank_scores(clusters, top_n)),
        cluster_id,
    )


def _result_from_row(row: Mapping[str, Any]) -> AnomalyResult:
    return AnomalyResult(**{key: value for key, value in row.items() if key in _RESULT_FIELDS})


def _by_cluster(
    nodes: Iterable[AggregatedAnomalyScore],
) -> dict[str, list[AggregatedAnomalyScore]]:
    grouped: dict[str, list[AggregatedAnomalyScore]] = {}
    for score in nodes:
        grouped.setdefault(str(score.cluster_id), []).append(score)
    return grouped


def report_as_dict(report: TopReport) -> dict[str, Any]:
    """The report as JSON-ready primitives (what ``--json`` prints)."""
    return {
        "tenant_id": report.tenant_id,
        "cluster_id": report.cluster_id,
        "source": report.source,
        "nodes": [_score_dict(rank, s) for rank, s in enumerate(report.nodes, 1)],
        "clusters": [_score_dict(rank, s) for rank, s in enumerate(report.clusters, 1)],
    }


def _score_dict(rank: int, score: AggregatedAnomalyScore) -> dict[str, Any]:
    return {
        "rank": rank,
        "cluster_id": score.cluster_id,
        "node_id": score.node_id,
        "aggregate_score": score.aggregate_score,
        "aggregation_strategy": score.aggregation_strategy,
        "num_metrics_analyzed": score.num_metrics_analyzed,
        "num_anomalies_detected": score.num_anomalies_detected,
        "timestamp": score.timestamp.isoformat(),
        "contributors": [dataclasses.asdict(c) for c in score.top_contributors(JSON_CONTRIBUTORS)],
        "explanation": explain_rank(score, rank),
    }


def render_top(report: TopReport, console: Console, contributors: int = 3) -> None:
    """Print the report as rich tables, then why the first node ranks first."""
    scope = f"tenant {report.tenant_id}" + (
        f", cluster {report.cluster_id}" if report.cluster_id else ""
    )
    if report.is_empty:
        console.print(f"No aggregated scores or anomaly results stored for {scope}.")
        return
    note = {"stored": "stored scores", "computed": "aggregated now from stored anomaly results"}
    console.print(f"[bold]Most anomalous in {scope}[/bold] ({note[report.source]})")
    if report.nodes:
        console.print(_table("Nodes", report.nodes, contributors, with_node=True))
    if report.clusters:
        console.print(_table("Clusters", report.clusters, contributors, with_node=False))
    if report.nodes:
        console.print(explain_rank(report.nodes[0], 1, contributors), highlight=False)


def _table(
    title: str, scores: Iterable[AggregatedAnomalyScore], contributors: int, with_node: bool
) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Cluster")
    if with_node:
        table.add_column("Node")
    for name in ("Score", "Anomalies", "Metrics"):
        table.add_column(name, justify="right")
    table.add_column("Top metrics" if with_node else "Top nodes")
    for rank, score in enumerate(scores, 1):
        ids = [str(score.cluster_id)] + ([str(score.node_id)] if with_node else [])
        table.add_row(
            str(rank),
            *ids,
            _styled(score.aggregate_score),
            str(score.num_anomalies_detected),
            str(score.num_metrics_analyzed),
            describe_contributors(score.contributors, contributors) or "-",
        )
    return table


def _styled(score: float) -> str:
    style = "red" if score >= 0.8 else "yellow" if score >= 0.5 else "green"
    return f"[{style}]{score:.2f}[/{style}]"


def run_top(
    storage: StorageBackend,
    tenant_id: str | None,
    cluster_id: str | None = None,
    top_n: int = 10,
    as_json: bool = False,
    console: Console | None = None,
) -> int:
    """The command's body over an open storage; returns the exit status."""
    console = console or Console()
    if tenant_id is None:
        tenants = storage.get_stats().get("total_tenants", 0)
        if tenants:
            raise typer.BadParameter(
                f"the storage holds {tenants} tenant(s); choose one", param_hint="--tenant"
            )
        console.print("Nothing stored yet: ingest metrics and run detection first.")
        return 0
    report = collect_top(storage, tenant_id, cluster_id, top_n)
    if as_json:
        console.out(json.dumps(report_as_dict(report), indent=2), highlight=False)
    else:
        render_top(report, console)
    return 0


def _open_default(url: str | None) -> StorageBackend:
    from backend.storage.factory import open_storage

    return open_storage(url)


def register(app: typer.Typer, open_storage: StorageOpener | None = None) -> None:
    """Add ``top`` to ``app``; ``open_storage`` (url -> backend) defaults to the factory."""
    opener = open_storage or _open_default

    @app.command("top")
    def top(
        tenant: str | None = typer.Option(None, "--tenant", "-t", help="Tenant to rank."),
        cluster: str | None = typer.Option(None, "--cluster", "-c", help="Only this cluster."),
        n: int = typer.Option(10, "-n", "--top", min=1, help="How many nodes and clusters."),
        database_url: str | None = typer.Option(
            None, "--database-url", help="Storage URL (default: the configured one)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    ) -> None:
        """Show the most anomalous nodes and clusters and the metrics that drove them."""
        with opener(database_url) as storage:
            status = run_top(storage, tenant, cluster, n, as_json)
        if status:
            raise typer.Exit(status)
