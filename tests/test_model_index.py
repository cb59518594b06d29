"""model-index.yml and the metafiles it imports: what `mim search
mclnet_plugin` reads (OpenMMLab's model index)."""
import pytest
import yaml

from tests.tiny_configs import REPO


def load_index():
    """The collections and models of every metafile model-index.yml
    imports."""
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    collections, models = [], []
    for path in index['Import']:
        metafile = yaml.safe_load((REPO / path).read_text())
        collections += metafile['Collections']
        models += metafile['Models']
    return collections, models


def test_every_model_has_its_config_a_unique_name_and_a_collection():
    collections, models = load_index()
    names = [model['Name'] for model in models]
    assert len(names) == len(set(names))
    assert {path.stem
            for path in (REPO / 'configs/mclnet').glob('*.py')} == set(names)
    for collection in collections:
        assert (REPO / collection['README']).is_file()
    for model in models:
        config = REPO / model['Config']
        assert config.is_file(), model['Config']
        # MMagic's convention: a model is named after its config
        assert config.stem == model['Name']
        assert model['In Collection'] in {c['Name'] for c in collections}
        assert model['Metadata']['Training Data']
        # not trained yet: no results, no weights
        assert model['Results'] == [] and 'Weights' not in model


def test_mim_search_lists_the_models(monkeypatch):
    search = pytest.importorskip('mim.commands.search')
    # mim looks for model-index.yml in the installed package's folder (or
    # its .mim/); here, the checkout
    monkeypatch.setattr(search, 'get_installed_path',
                        lambda package: str(REPO))
    _, models = load_index()

    table = search.get_model_info('mclnet_plugin')
    assert sorted(table.index) == sorted(model['Name'] for model in models)
    assert set(table['config']) == {model['Config'] for model in models}
    ade20k = search.get_model_info(
        'mclnet_plugin', training_datasets=['ade20k'])
    assert list(ade20k.index) == ['mclnet_spade_4xb8-126kiters_ade20k-256x256']
