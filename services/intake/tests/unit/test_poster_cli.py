"""`civicloop-intake poster`: writes the SVG or PDF poster from the host, refuses what is not a poster."""

from civicloop_intake.domain.posters import PosterSpec, poster_svg, report_link
from civicloop_intake.entrypoints.cli import app
from typer.testing import CliRunner

SITE = "https://report.example.gov"
ARGS = [
    "poster",
    "--id",
    "d3",
    "--title",
    "Elm Park",
    "--address",
    "100 block of Elm St",
    "--lat",
    "38.9",
    "--lng",
    "-77.01",
]


def test_the_svg_poster_is_the_one_the_admin_route_builds(tmp_path):
    out = tmp_path / "d3.svg"
    result = CliRunner().invoke(app, [*ARGS, "--out", str(out)], env={"CIVICLOOP_PUBLIC_BASE_URL": SITE})
    assert result.exit_code == 0, result.output
    spec = PosterSpec(poster_id="d3", title="Elm Park", address="100 block of Elm St", lat=38.9, lng=-77.01)
    assert out.read_text() == poster_svg(spec, report_link(SITE, spec))
    assert "source=poster-d3" in result.output


def test_a_pdf_poster(tmp_path):
    out = tmp_path / "d3.pdf"
    result = CliRunner().invoke(app, [*ARGS, "--out", str(out), "--base-url", SITE])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-")


def test_a_bad_id_or_file_type_writes_nothing(tmp_path):
    runner = CliRunner()
    bad_id = runner.invoke(
        app, ["poster", "--id", "D 3", "--title", "t", "--out", str(tmp_path / "a.svg"), "--base-url", SITE]
    )
    bad_type = runner.invoke(app, [*ARGS, "--out", str(tmp_path / "a.png"), "--base-url", SITE])
    assert (bad_id.exit_code, bad_type.exit_code) == (2, 2)
    assert list(tmp_path.iterdir()) == []
