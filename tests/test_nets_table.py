"""`hatetris nets table`: generated from measured games, kept across networks and
interruptions, measured again when a preset changes."""

from __future__ import annotations

import json

from hatetris.nnue.network import Network, save_network
from hatetris.nnue.report import measure, write_table


def test_nets_table_is_generated_from_measured_games(tmp_path):
    from hatetris.solution import verify

    save_network(tmp_path / "gen-0.npz", Network.random(("rows",), hidden=8, seed=0),
                 generation=0, probe_lines=1, adopted=True)
    results = measure(tmp_path, ["gen-0"], [20], "quick", max_depth=15, log=lambda m: None)
    assert set(results) == {"gen-0@20", "quick@20"}
    for r in results.values():
        verify(r["replay"], r["lines"], r["pieces"])
        assert r["capped"] == (r["depth_reached"] >= 15)
    text = write_table(tmp_path, results, "hatetris nets table --widths 20")
    assert "| gen-0 | yes | 1 |" in text and "| quick |" in text
    assert (tmp_path / "README.md").read_text() == text
    assert json.loads((tmp_path / "results.json").read_text()) == results


def test_nets_table_keeps_stored_games_of_networks_not_asked_for(tmp_path):
    nets, solutions = tmp_path / "nets", tmp_path / "solutions"
    solutions.mkdir()
    for k in (0, 1):
        save_network(nets / f"gen-{k}.npz", Network.random(("rows",), hidden=8, seed=k),
                     generation=k)
    game = measure(nets, ["gen-0"], [20], None, log=lambda m: None)["gen-0@20"]
    (nets / "results.json").unlink()  # gen-0's game is now only a stored solution
    (solutions / "g0.json").write_text(json.dumps({
        "solver": "nnue-beam", "replay": game["replay"], "score": game["lines"],
        "pieces": game["pieces"],
        "parameters": {"width": 20, "eval": {"network": str(nets / "gen-0.npz")}}}))
    results = measure(nets, ["gen-1"], [20], None, log=lambda m: None,
                      solutions_dir=solutions)
    assert set(results) == {"gen-0@20", "gen-1@20"}
    assert results["gen-0@20"]["replay"] == game["replay"]


def test_nets_table_measures_a_changed_preset_again(tmp_path):
    save_network(tmp_path / "gen-0.npz", Network.random(("rows",), hidden=8, seed=0),
                 generation=0, probe_lines=1, adopted=True)
    first = measure(tmp_path, [], [20], "quick", max_depth=15, log=lambda m: None)
    assert first["quick@20"]["evaluation"]["eval"]["kind"] == "heuristic"
    # A game played with other weights (as if the preset changed since) is not shown.
    stale = json.loads((tmp_path / "results.json").read_text())
    stale["quick@20"]["lines"] = 999
    stale["quick@20"]["evaluation"]["eval"]["weights"]["height"] = 123.0
    (tmp_path / "results.json").write_text(json.dumps(stale))
    again = measure(tmp_path, [], [20], "quick", max_depth=15, log=lambda m: None)
    assert {k: again["quick@20"][k] for k in ("lines", "replay", "evaluation")} == \
        {k: first["quick@20"][k] for k in ("lines", "replay", "evaluation")}
    assert json.loads((tmp_path / "results.json").read_text())["quick@20"]["lines"] != 999


def test_an_interrupted_nets_table_keeps_the_games_it_finished(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import hatetris.solve
    from hatetris.cli import cli

    save_network(tmp_path / "gen-0.npz", Network.random(("rows",), hidden=8, seed=0),
                 generation=0)
    drive = hatetris.solve.drive
    games = []

    def drive_then_ctrl_c(step, bar, describe, on_step=None, save=None, every=25):
        games.append(1)
        if len(games) == 2:
            return True  # Ctrl-C during the second game
        return drive(step, bar, describe, on_step, save, every)

    monkeypatch.setattr(hatetris.solve, "drive", drive_then_ctrl_c)
    result = CliRunner().invoke(cli, ["nets", "table", "--nets", str(tmp_path), "--widths",
                                      "20", "--heuristic", "quick", "--max-depth", "15"])
    assert result.exit_code == 130
    assert result.output.strip().splitlines()[-1].startswith("interrupted:")
    assert "Traceback" not in result.output
    assert set(json.loads((tmp_path / "results.json").read_text())) == {"gen-0@20"}
