"""carbonmeter.hub: what model cards report about their emissions."""

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
