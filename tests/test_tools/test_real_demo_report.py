"""real_demo_report.py turns the demo's metric files into before/after tables and says what did not run."""
import json

from zerovl.testing import load_script

report = load_script('tools/analysis_tools/real_demo_report.py')


def test_before_after_tables_and_missing_steps(tmp_path, capsys):
    retrieval = {f'emoji/{k}': v for k, v in [('i2t_R@1', 1.0), ('i2t_R@5', 2.0), ('i2t_R@10', 3.0), ('t2i_R@1', 4.0),
                                               ('t2i_R@5', 5.0), ('t2i_R@10', 6.0), ('rsum', 21.0)]}
    (tmp_path / 'retrieval_before.json').write_text(json.dumps(retrieval))
    (tmp_path / 'retrieval_after.json').write_text(json.dumps({k: v * 10 for k, v in retrieval.items()}))
    (tmp_path / 'linear_probe_after.json').write_text(json.dumps({'fashion_mnist/top1': 72.55}))
    (tmp_path / 'timings.json').write_text(json.dumps({'fine-tune (8 epochs)': 563.0, 'total': 600.0}))
    report.main([str(tmp_path)])
    text = (tmp_path / 'summary.md').read_text()
    assert text.strip() in capsys.readouterr().out  # printed as written
    assert '| before: pretrained towers (ImageNet Lite0, MiniLM), untrained heads | 1.0 | 2.0 | 3.0 | 4.0 | 5.0 | 6.0 | 21.0 |' in text
    assert '| after: ZeroVL fine-tuning on emoji | 10.0 | 20.0 | 30.0 | 40.0 | 50.0 | 60.0 | 210.0 |' in text
    assert 'not run: no zero_shot_before.json / zero_shot_after.json' in text
    # One side of a pair present: the other is marked, and a metric the file lacks says so.
    assert '| before: pretrained towers (ImageNet Lite0, MiniLM), untrained heads | not run | not run |' in text
    assert '| after: ZeroVL fine-tuning on emoji | 72.5 | missing |' in text
    assert '| fine-tune (8 epochs) | 563 |' in text
    assert 'retrieval picture: not written' in text
