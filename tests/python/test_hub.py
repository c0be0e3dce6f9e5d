"""carbonmeter.hub: what model cards report about their emissions."""

import json
import os
import subprocess

import pytest

from carbonmeter.hub import front_matter, read_co2_eq_emissions


def test_the_mapping_form_with_every_field():
    card = (
        "---\nlicense: mit\nco2_eq_emissions:\n  emissions: 1234.5\n  source: \"carbonmeter 0.1.0\"\n"
        "  training_type: fine-tuning\n  geographical_location: 'Paris, France'\n  hardware_used: 8 x H100\n"
        "datasets:\n- squad\n---\n# Model\n"
    )
    assert read_co2_eq_emissions(card) == {
        "emissions_g": 1234.5,
        "source": "carbonmeter 0.1.0",
        "training_type": "fine-tuning",
        "geographical_location": "Paris, France",
        "hardware_used": "8 x H100",
    }


def test_the_number_form_means_grams():
    assert read_co2_eq_emissions("---\nco2_eq_emissions: 149200\n---\n") == {"emissions_g": 149200.0}
    assert read_co2_eq_emissions("---\nco2_eq_emissions: 0.5 # grams\n---\n") == {"emissions_g": 0.5}


def test_windows_line_endings_a_byte_order_mark_and_dots_close():
    card = "\ufeff---\r\nco2_eq_emissions:\r\n  emissions: 7\r\n...\r\nbody\r\n"
    assert read_co2_eq_emissions(card) == {"emissions_g": 7.0}


def test_cards_that_report_nothing():
    assert read_co2_eq_emissions("# just a README\n") is None
    assert read_co2_eq_emissions("---\nlicense: mit\n---\n") is None
    assert read_co2_eq_emissions("---\nlicense: mit\n") is None  # never closed: no front matter
    assert read_co2_eq_emissions("---\nnested:\n  co2_eq_emissions: 5\n---\n") is None  # not top level
    assert front_matter("text") is None


def test_a_malformed_figure_is_a_clear_error(tmp_path):
    card = tmp_path / "README.md"
    card.write_text("---\nco2_eq_emissions:\n  emissions: a lot\n---\n", encoding="utf-8")
    with pytest.raises(ValueError, match="README.md.*not a number"):
        read_co2_eq_emissions(card)
    with pytest.raises(ValueError, match="no emissions figure"):
        read_co2_eq_emissions("---\nco2_eq_emissions:\n  source: x\n---\n")
    with pytest.raises(ValueError, match="finite"):
        read_co2_eq_emissions("---\nco2_eq_emissions: -3\n---\n")


def test_a_path_is_read(tmp_path):
    card = tmp_path / "README.md"
    card.write_text("---\nco2_eq_emissions:\n  emissions: 12\n---\n", encoding="utf-8")
    assert read_co2_eq_emissions(card) == {"emissions_g": 12.0}
    assert read_co2_eq_emissions(str(card)) == {"emissions_g": 12.0}


# The cards above, and more of the same kinds, as files: `carbonmeter hub search --cards DIR --json`
# must read the same figures as read_co2_eq_emissions, and list as unreadable what it refuses.
PARITY_CARDS = {
    "every-field": (
        "---\nlicense: mit\nco2_eq_emissions:\n  emissions: 1234.5\n  source: \"carbonmeter 0.1.0\"\n"
        "  training_type: fine-tuning\n  geographical_location: 'Paris, France'\n  hardware_used: 8 x H100\n"
        "datasets:\n- squad\n---\n# Model\n"
    ),
    "number": "---\nco2_eq_emissions: 149200\n---\n",
    "number-comment": "---\nco2_eq_emissions: 0.5 # grams\n---\n",
    "crlf-bom-dots": "\ufeff---\r\nco2_eq_emissions:\r\n  emissions: 7\r\n...\r\nbody\r\n",
    "quoted": "---\nco2_eq_emissions:\n  emissions: '12'\n  source: 'the team''s logs'\n---\n",
    "readme-only": "# just a README\n",
    "no-emissions": "---\nlicense: mit\n---\n",
    "never-closed": "---\nlicense: mit\n",
    "nested": "---\nnested:\n  co2_eq_emissions: 5\n---\n",
    "not-a-number": "---\nco2_eq_emissions:\n  emissions: a lot\n---\n",
    "no-figure": "---\nco2_eq_emissions:\n  source: x\n---\n",
    "negative": "---\nco2_eq_emissions: -3\n---\n",
}


@pytest.mark.skipif(
    not os.environ.get("CARBONMETER_CLI"), reason="CARBONMETER_CLI is not set to the built carbonmeter (ctest sets it)"
)
def test_the_cli_reads_the_cards_as_python_does(tmp_path):
    for name, text in PARITY_CARDS.items():
        (tmp_path / f"{name}.md").write_bytes(text.encode("utf-8"))
    run = subprocess.run(
        [os.environ["CARBONMETER_CLI"], "hub", "search", "--cards", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    cli = {model["model_id"]: model for model in json.loads(run.stdout)}
    refused = {line.split(".md: ", 1)[0].rsplit("/", 1)[-1] for line in run.stderr.splitlines()}
    expected, raising = {}, set()
    for name in PARITY_CARDS:
        try:
            reported = read_co2_eq_emissions(tmp_path / f"{name}.md")
        except ValueError:
            raising.add(name)
            continue
        if reported is not None:
            expected[name] = reported
    assert refused == raising
    assert set(cli) == set(expected)
    for name, reported in expected.items():
        model = cli[name]
        assert model["emissions_g"] == reported["emissions_g"], name
        for key in ("source", "training_type", "geographical_location", "hardware_used"):
            assert model[key] == reported.get(key), (name, key)
        assert model["path"] == str(tmp_path / f"{name}.md")
