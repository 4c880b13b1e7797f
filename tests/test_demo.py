from tesla_lab import demo


def test_demo_trains_both_models_and_tt_is_much_smaller():
    results = demo.main(["--epochs", "3", "--device", "cpu"])
    assert results["tensor-train"]["params"] * 10 < results["dense"]["params"]
    assert results["dense"]["accuracy"] > 0.8
    assert results["tensor-train"]["accuracy"] > 0.5
