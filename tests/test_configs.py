"""The registered model configs: every value the Foundation issue fixes, and real graphs."""
import numpy as np
import pytest

import bgmaker_configs

bgmaker_configs.register()  # compat shims + configs, before Magenta
from bgmaker_configs import architectures
from magenta.models.music_vae import configs, data, lstm_models

# Trainable parameters of the full-size graphs (also in docs/models.md).
PARAMETERS = {"hierdec-drum_4bar": 8_048_128, "cat-drums_4bar": 5_685_760}

EXPECTED_HPARAMS = dict(batch_size=512, max_seq_len=64, z_size=512, enc_rnn_size=[512],
                        dec_rnn_size=[256, 256], free_bits=48, max_beta=0.2,
                        sampling_schedule="inverse_sigmoid", sampling_rate=1000,
                        learning_rate=0.001, decay_rate=0.9999, min_learning_rate=1e-5)


@pytest.mark.parametrize("name", ["hierdec-drum_4bar", "cat-drums_4bar"])
def test_registered_in_magenta_config_map(name):
    config = configs.CONFIG_MAP[name]
    hp = config.hparams.values()
    for key, value in EXPECTED_HPARAMS.items():
        assert hp[key] == value, key
    # everything else is Magenta's lstm default, as in cat-drums_2bar_small
    small = configs.CONFIG_MAP["cat-drums_2bar_small"].hparams.values()
    for key in set(hp) - set(EXPECTED_HPARAMS) - {"max_seq_len", "z_size", "lstm_precision", "shuffle_buffer"}:
        assert hp[key] == small[key], key
    # BGMaker's additions, both about how a model is trained, not what it is:
    assert hp["lstm_precision"] == "auto"  # how the LSTM matmuls run
    assert hp["shuffle_buffer"] == 0  # Magenta's 10 x batch training shuffle unless a recipe says otherwise
    conv = config.data_converter
    assert isinstance(conv, data.DrumsConverter)
    assert conv._slice_steps == 64 and conv._steps_per_bar == 16 and conv._steps_per_quarter == 4
    assert conv._roll_input and not conv._roll_output
    assert conv._pitch_classes == data.REDUCED_DRUM_PITCH_CLASSES and len(conv._pitch_classes) == 9
    assert conv.max_tensors_per_notesequence == 5  # Magenta's default: the stock converter
    assert conv._drums_extractor_fn.keywords["max_steps_truncate"] == 16 * 100  # max_bars=100
    assert conv.input_depth == 10 and conv.output_depth == 512
    assert isinstance(config.model._encoder, lstm_models.BidirectionalLstmEncoder)


def test_hierdec_decoder_structure():
    decoder = configs.CONFIG_MAP["hierdec-drum_4bar"].model._decoder
    assert isinstance(decoder, lstm_models.HierarchicalLstmDecoder)
    assert decoder._level_lengths == [8, 8]
    assert decoder._disable_autoregression == []  # disable_autoregression=False: no level disabled
    assert isinstance(decoder._core_decoder, lstm_models.CategoricalLstmDecoder)
    flat = configs.CONFIG_MAP["cat-drums_4bar"].model._decoder
    assert type(flat) is lstm_models.CategoricalLstmDecoder


def test_configs_do_not_share_mutable_hparams():
    """music_vae_train parses --hparams into the config in place; runs must not leak into models."""
    a = configs.CONFIG_MAP["hierdec-drum_4bar"].hparams
    b = configs.CONFIG_MAP["v2_rock_beat"].hparams
    assert a is not b


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_full_size_graph_builds(name):
    import tensorflow.compat.v1 as tf
    config = architectures.MODELS[name]()
    with tf.Graph().as_default():
        model = config.model
        model.build(config.hparams, config.data_converter.output_depth, is_training=True)
        batch, steps = config.hparams.batch_size, 64  # hierdec builds its states at the hparams batch size
        inputs = tf.placeholder(tf.float32, [batch, steps, config.data_converter.input_depth])
        outputs = tf.placeholder(tf.float32, [batch, steps, config.data_converter.output_depth])
        model.train(inputs, outputs, tf.placeholder(tf.int32, [batch]), None)
        count = int(sum(np.prod(v.shape.as_list()) for v in tf.trainable_variables()))
    assert count == PARAMETERS[name]


def test_run_configs_registered():
    for name, run in bgmaker_configs.RUNS.items():
        config = configs.CONFIG_MAP[name]
        assert config.train_examples_path.endswith(f"{name}/train.tfrecord")
        assert config.eval_examples_path.endswith(f"{name}/validation.tfrecord")
        assert config.data_converter.max_tensors_per_notesequence is None  # every window
        assert config.hparams.shuffle_buffer >= 15_641  # the recipe shuffles v1_all's whole train split
    assert bgmaker_configs.RUNS["v2_rock_beat"].select == dict(style="rock", beat_type="beat",
                                                               time_signature="4-4")


def test_unknown_run_names_the_known_ones():
    with pytest.raises(bgmaker_configs.UnknownRunError, match="known runs: humanize, v1_all, v2_rock_beat"):
        bgmaker_configs.get_run("v3_jazz")


def test_recipes_change_training_never_the_model():
    from bgmaker_configs.recipes import DEFAULT_RECIPE, FIXED_HPARAMS, RECIPES, UnknownRecipeError, get_recipe
    assert DEFAULT_RECIPE in RECIPES and RECIPES["stock"].stock and not RECIPES["stock"].every_window
    for recipe in RECIPES.values():
        assert not set(recipe.hparams) & set(FIXED_HPARAMS), recipe.name
        config = bgmaker_configs.RUNS["v2_rock_beat"].magenta_config(recipe.name)
        assert config.hparams.batch_size == recipe.hparams["batch_size"]
        assert config.hparams.z_size == 512 and config.hparams.free_bits == 48 and config.hparams.max_beta == 0.2
        assert config.train_examples_path.endswith(
            "v2_rock_beat/replay-v1_all-25/train.tfrecord" if recipe.replay else
            "v2_rock_beat/train.tfrecord" if recipe.every_window else "v2_rock_beat/whole_files/train.tfrecord")
        assert config.eval_examples_path.endswith("validation.tfrecord") and "replay" not in config.eval_examples_path
    with pytest.raises(UnknownRecipeError, match="known recipes: stock"):
        get_recipe("fast")
