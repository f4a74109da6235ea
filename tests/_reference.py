"""Helpers shared by the numpy-reference tests."""

import keras


def expert_blocks(layer):
    """The layer's documented layout, unpacked: column e·U+u of the expert kernel is expert e's
    unit u, column g·E+e of the gate kernel is gate g's score of expert e. Returns per-expert
    W (E, d, U), b (E, U) and per-gate G (G, d, E), gb (G, E)."""
    e, u, g = layer.num_experts, layer.expert_units, layer.num_gates
    W = keras.ops.convert_to_numpy(layer.expert_kernel)
    G = keras.ops.convert_to_numpy(layer.gate_kernel)
    d = W.shape[0]
    return (W.reshape(d, e, u).transpose(1, 0, 2), keras.ops.convert_to_numpy(layer.expert_bias).reshape(e, u),
            G.reshape(d, g, e).transpose(1, 0, 2), keras.ops.convert_to_numpy(layer.gate_bias).reshape(g, e))
