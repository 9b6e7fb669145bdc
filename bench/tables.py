"""What the bench prints and draws: the rich tables and the cumulative-regret PNGs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.runner import BenchResult
from bench.simulate.lag import MODES
from oktapi.engine.policies import DEFAULT_POLICY

if TYPE_CHECKING:
    from rich.console import Console


def print_lag_report(lag: dict, console: Console | None = None) -> None:
    """The lag table: final numbers at once, the morning's never restated, restated daily."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(
        title=(
            "Reporting lag: % of the oracle by the final outcome "
            f"(response_curve, mean ± std over {lag['seeds']} seeds)"
        )
    )
    for column in ("scenario", "final at once", "morning, never restated", "restated daily (7)"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, cells in lag["scenarios"].items():
        table.add_row(name, *(f"{cells[m]['mean']:.1f}±{cells[m]['std']:.1f}" for m in MODES))
    table.add_row("mean", *(f"{lag['mean'][m]:.1f}" for m in MODES))
    console.print(table)
    mean = lag["mean"]
    console.print(
        f"restated daily - final at once: {mean['restated'] - mean['final']:+.1f} points; "
        f"restated daily - never restated: {mean['restated'] - mean['morning']:+.1f} points"
    )
    for error in lag["errors"][:3]:
        console.print(f"[red]{error}[/red]")


def print_changes_report(changes: dict, console: Console | None = None) -> None:
    """The changes table: plans edited mid-run (a campaign added, one removed)."""
    from rich.console import Console
    from rich.table import Table

    from bench.extras import UNEDITED, change_columns

    columns = changes.get("columns") or change_columns()
    console = console or Console()
    table = Table(
        title=(
            "Plans edited mid-run: % of an oracle that knows the change "
            f"(mean ± std over {changes['seeds']} seeds)"
        )
    )
    headers = [f"{DEFAULT_POLICY}, unedited market" if c == UNEDITED else c for c in columns]
    for column in ("scenario", *headers):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, cells in changes["scenarios"].items():
        table.add_row(name, *(f"{cells[c]['mean']:.1f}±{cells[c]['std']:.1f}" for c in columns))
    table.add_row("mean", *(f"{changes['mean'][c]:.1f}" for c in columns))
    console.print(table)
    for name, cells in changes["scenarios"].items():
        console.print(f"{name}: {cells['description']}")
    for error in changes["errors"][:3]:
        console.print(f"[red]{error}[/red]")


def print_cost_report(cost: dict, console: Console | None = None) -> None:
    """Engine time of one timestep early and late in a long plan."""
    from rich.console import Console

    console = console or Console()
    for row in cost["policies"]:
        points = [key for key in row if key.isdigit()]
        early, late = row[points[0]], row[points[-1]]
        console.print(
            f"Engine cost, {row['policy']} ({row['timesteps']:,} timesteps x {row['n_campaigns']} "
            f"campaigns, restating the last {row['restate_days']} every timestep): one timestep "
            f"at {points[0]}: p50 {early['p50_ms']:.1f} ms ({early['p50_cpu_ms']:.1f} ms CPU), "
            f"at {points[-1]}: {late['p50_ms']:.1f} ms ({late['p50_cpu_ms']:.1f} ms CPU); "
            f"late / early {row['ratio']:.2f} ({row['cpu_ratio']:.2f} CPU); state "
            f"{early['state_json_chars']:,} -> {late['state_json_chars']:,} JSON characters"
        )


def print_report(result: BenchResult, console: Console | None = None) -> None:
    """The % of oracle table, the best variant, timings and the Chapelle & Li regret."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(
        width=max(Console().width, 220) if not sys.stdout.isatty() else None
    )
    names = [s.name for s in result.scenarios]
    table = Table(
        title=f"% of the clairvoyant oracle's expected objective (mean ± std over {result.seeds} seeds)"
    )
    table.add_column("policy", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("mean", justify="right", no_wrap=True)
    best_per_column = {
        name: max(row.cells[name].mean for row in result.rows) if result.rows else None
        for name in names
    }
    references = [result.oracle_row] + ([result.ceiling_row] if result.ceiling_row else [])
    for row in [*references, *result.rows]:
        cells = []
        for name in names:
            cell = row.cells[name]
            if cell.errors and not cell.percents:
                cells.append("[red]error[/red]")
                continue
            text = f"{cell.mean:.1f}±{cell.std:.1f}"
            if row not in references and cell.mean == best_per_column[name]:
                text = f"[bold green]{text}[/bold green]"
            if cell.errors:
                text += f" [red]({len(cell.errors)} err)[/red]"
            cells.append(text)
        table.add_row(row.label, *cells, f"{row.overall_mean:.1f}")
    console.print(table)
    if result.rows:
        best = result.best
        console.print(
            f"Best: [bold]{best.label}[/bold] at {best.overall_mean:.1f}% of the oracle "
            f"(mean over {len(names)} scenarios)"
        )
        stepped = [row for row in result.rows if row.variant.step is not None]
        if stepped and best.variant.step is None:
            best_seed = max(stepped, key=lambda row: row.overall_mean)
            console.print(
                f"Best seed policy (moves a step s): [bold]{best_seed.label}[/bold] at "
                f"{best_seed.overall_mean:.1f}%"
            )
        summary = Table(title="Per policy at its best step")
        for column in ("policy", "best row", "% oracle", "timesteps to 90%*", "volatility"):
            summary.add_column(column, justify="right" if column != "policy" else "left")
        summary.add_column("allocate ms (50 campaigns, 90 timesteps)", justify="right")
        for policy, row in result.best_per_policy().items():
            to_90 = np.mean([np.mean(c.timesteps_to_90) for c in row.cells.values() if c.percents])
            moved = np.mean([np.mean(c.volatility) for c in row.cells.values() if c.percents])
            timing = result.allocate_ms.get(policy)
            summary.add_row(
                policy,
                row.label,
                f"{row.overall_mean:.1f}",
                f"{to_90:.1f}",
                f"{moved:.3f}",
                "-" if timing is None else f"{timing:.3f}",
            )
        console.print(summary)
        console.print(
            "* timesteps before the expected daily objective first reaches 90% of the oracle's "
            "(the horizon if never); volatility = mean share of the budget moved per timestep"
        )
    if result.chapelle_li:
        cl = result.chapelle_li
        console.print(
            f"Chapelle & Li check (10 arms 0.5/0.4x9, 10,000 pulls in batches of 100, Thompson): "
            f"regret {cl['mean']:.1f} ± {cl['std']:.1f} over {cl['seeds']} seeds "
            "(issue's reference ≈ 147 ± 20; MABWiser on this protocol: 167 ± 41 over 100 seeds)"
        )
    errors = [
        (row.label, name, error)
        for row in result.measured_rows
        for name, cell in row.cells.items()
        for error in cell.errors[:1]
    ]
    for label, name, error in errors:
        console.print(f"[red]{label} on {name} failed:[/red] {error}")
    console.print(f"Wall time {result.wall_seconds:.1f} s")


def plot_regret(result: BenchResult, out_dir: Path) -> list[Path]:
    """One PNG per scenario: mean cumulative regret of each policy at its best step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best_rows = list(result.best_per_policy().values())
    paths = []
    for scenario in result.scenarios:
        figure, axes = plt.subplots(figsize=(8, 5))
        timesteps = np.arange(1, scenario.timesteps + 1)
        for row in best_rows:
            regret = row.cells[scenario.name].regret_mean
            if regret:
                axes.plot(timesteps, regret, label=row.label)
        axes.axhline(0.0, color="black", linewidth=0.8, label="oracle")
        axes.set_xlabel("timestep")
        unit = "revenue" if scenario.objective == "revenue" else "conversions"
        axes.set_ylabel(f"cumulative expected regret ({unit})")
        axes.set_title(f"{scenario.name}: {scenario.description}", fontsize=9)
        axes.legend(fontsize=8)
        figure.tight_layout()
        path = out_dir / f"{scenario.name}.png"
        figure.savefig(path, dpi=90)
        plt.close(figure)
        paths.append(path)
    return paths
