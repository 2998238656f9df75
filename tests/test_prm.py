"""PRM: attention against torch's, masking, invariances, ablation switches, shapes and bad input."""

import pytest
import torch

from prm_edu.prm import PRM, EncoderBlock, InputLayer, MultiHeadAttention, PRMConfig, masked_softmax, scaled_dot_product_attention

B, L, D_X, D_PV = 4, 7, 5, 3


def inputs(seed=0, lengths=(7, 5, 3, 1)):
    g = torch.Generator().manual_seed(seed)
    x, pv = torch.randn(B, L, D_X, generator=g), torch.randn(B, L, D_PV, generator=g)
    padding_mask = torch.arange(L)[None, :] >= torch.tensor(lengths)[:, None]
    return x, pv, padding_mask


def model(**changes):
    torch.manual_seed(0)
    return PRM(PRMConfig(d_x=D_X, d_pv=D_PV, d_model=16, n_blocks=2, n_heads=2, d_ff=32, max_len=10, **changes)).eval()


def test_multi_head_attention_equals_torch(device):
    torch.manual_seed(0)
    ours = MultiHeadAttention(d_model=16, n_heads=4, head_dim=4).eval()
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([ours.q.weight, ours.k.weight, ours.v.weight]))
        theirs.in_proj_bias.copy_(torch.cat([ours.q.bias, ours.k.bias, ours.v.bias]))
        theirs.out_proj.weight.copy_(ours.o.weight)
        theirs.out_proj.bias.copy_(ours.o.bias)
    ours, theirs = ours.to(device), theirs.to(device)
    e = torch.randn(B, L, 16, device=device)
    padding_mask = inputs()[2].to(device)
    out, weights = ours(e, padding_mask)
    ref_out, ref_weights = theirs(e, e, e, key_padding_mask=padding_mask, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(weights, ref_weights, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("head_dim", [None, 8])
def test_fused_path_equals_hand_written(head_dim, device):
    torch.manual_seed(0)
    attention = MultiHeadAttention(d_model=16, n_heads=2, head_dim=head_dim, fused=True).eval().to(device)
    e = torch.randn(B, L, 16, device=device)
    padding_mask = inputs(lengths=(7, 5, 0, 1))[2].to(device)  # one list is all padding
    fast, no_weights = attention(e, padding_mask, need_weights=False)
    slow, weights = attention(e, padding_mask, need_weights=True)
    assert no_weights is None and weights is not None
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)


def test_head_width_follows_the_paper_by_default():
    paper_wide = MultiHeadAttention(d_model=16, n_heads=3)
    split = MultiHeadAttention(d_model=16, n_heads=4, head_dim=4)
    assert paper_wide.q.weight.shape == (3 * 16, 16) and paper_wide.o.weight.shape == (16, 3 * 16)
    assert split.q.weight.shape == (16, 16)


def test_attention_rows_sum_to_one_and_padded_keys_get_nothing():
    q, k, v = (torch.randn(B, 2, L, 4) for _ in range(3))
    _, _, padding_mask = inputs()
    out, weights = scaled_dot_product_attention(q, k, v, padding_mask)
    assert out.shape == (B, 2, L, 4) and weights.shape == (B, 2, L, L)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, 2, L))
    assert torch.all(weights.masked_select(padding_mask[:, None, None, :].expand_as(weights)) == 0)
    # the formula, on one list and head
    expected = torch.softmax(q[0, 0] @ k[0, 0].T / 2.0, dim=-1) @ v[0, 0]
    torch.testing.assert_close(out[0, 0], expected)


def test_fully_padded_list_gives_no_nan():
    x, pv, _ = inputs()
    padding_mask = torch.ones(B, L, dtype=torch.bool)
    net = model()
    logits, attention = net(x, pv, padding_mask, return_attention=True)
    assert torch.isfinite(logits).all() and all(torch.isfinite(w).all() for w in attention)
    assert torch.isfinite(net.score(x, pv, padding_mask)).all()


def test_without_position_embedding_permuting_the_list_permutes_the_logits():
    x, pv, _ = inputs()
    net = model(position="none")
    perm = torch.randperm(L, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(net(x[:, perm], pv[:, perm]), net(x, pv)[:, perm], rtol=1e-5, atol=1e-5)
    with_pe = model()  # and with the position embedding it does not
    assert not torch.allclose(with_pe(x[:, perm], pv[:, perm]), with_pe(x, pv)[:, perm], atol=1e-4)


@pytest.mark.parametrize("position", ["learned", "sinusoidal"])
def test_ranks_follow_the_item_not_the_slot(position, device):
    """With explicit initial ranks, a list fed in another slot order gets the same logit per item:
    PE reads each item's rank, never its slot. Without ranks the slot is taken as the rank."""
    x, pv, _ = inputs()
    net = model(position=position).to(device)
    x, pv = x.to(device), pv.to(device)
    perm = torch.randperm(L, generator=torch.Generator().manual_seed(1)).to(device)
    ranks = torch.arange(L, device=device).expand(B, L)
    logits = net(x, pv)
    torch.testing.assert_close(net(x, pv, ranks=ranks), logits)  # the default is the slot order
    torch.testing.assert_close(net(x[:, perm], pv[:, perm], ranks=ranks[:, perm]), logits[:, perm], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(net(x[:, perm], pv[:, perm]), logits[:, perm], atol=1e-4)  # slots read as ranks


def test_slot_order_ranks_train_exactly_as_no_ranks():
    """Ranks 0 .. L-1 give bit-for-bit the same loss and gradients as leaving them out, so an experiment
    that passes its batches' ranks reproduces one that did not."""
    g = torch.Generator().manual_seed(0)
    x, pv = torch.randn(256, 10, D_X, generator=g), torch.randn(256, 10, D_PV, generator=g)  # many lists: PE's gradient sums them
    grads = []
    for ranks in (None, torch.arange(10).expand(256, 10)):
        net = model().train()
        torch.manual_seed(1)  # the same dropout masks
        net(x, pv, None, ranks).pow(2).sum().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_bad_ranks_raise():
    x, pv, _ = inputs()
    net = model()
    with pytest.raises(ValueError, match="ranks must be int64"):
        net(x, pv, ranks=torch.zeros(B, L - 1, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"rank within its list, in \[0, L=7\)"):
        net(x, pv, ranks=torch.full((B, L), 7))


@pytest.mark.parametrize("position", ["learned", "sinusoidal", "none"])
def test_padding_never_changes_the_logits_of_real_items(position):
    x, pv, _ = inputs()
    net = model(position=position)
    short = net(x[:, :4], pv[:, :4], torch.zeros(B, 4, dtype=torch.bool))
    garbage = torch.randn(B, L - 4, D_X), torch.randn(B, L - 4, D_PV)
    padded_mask = torch.arange(L)[None, :].expand(B, L) >= 4
    padded = net(torch.cat([x[:, :4], garbage[0]], 1), torch.cat([pv[:, :4], garbage[1]], 1), padded_mask)
    torch.testing.assert_close(padded[:, :4], short, rtol=1e-5, atol=1e-5)
    assert torch.all(padded[:, 4:] == 0)


def test_ablation_switches_remove_their_part():
    x, pv, padding_mask = inputs()
    # no PV (PRM-BASE): PV is not read at all
    base = PRM(PRMConfig(d_x=D_X, d_pv=0, d_model=16, max_len=10)).eval()
    assert base.input_layer.proj.in_features == D_X
    # no PE: no table; sinusoidal: a fixed buffer, not a parameter
    assert model(position="none").input_layer.position_embedding is None
    sinusoidal = model(position="sinusoidal")
    assert "input_layer.position_embedding" not in dict(sinusoidal.named_parameters())
    assert "input_layer.position_embedding" in dict(model().named_parameters())
    # no dropout: training mode is deterministic; with dropout it is not
    for dropout, same in ((0.0, True), (0.5, False)):
        net = model(dropout=dropout).train()
        assert torch.equal(net(x, pv, padding_mask), net(x, pv, padding_mask)) is same
    # no residual: the block is exactly LayerNorm(FFN(LayerNorm(MH(E)))) (in eval mode)
    torch.manual_seed(0)
    block = EncoderBlock(16, 2, None, 32, 0.1, residual=False).eval()
    e = torch.randn(B, L, 16)
    a = block.norm1(block.attention(e, padding_mask)[0])
    torch.testing.assert_close(block(e, padding_mask)[0], block.norm2(block.ffn(a)))
    block.residual = True
    assert not torch.allclose(block(e, padding_mask)[0], block.norm2(block.ffn(a)))


def test_the_attention_free_control_sees_no_other_item(device):
    """list_attention=False: an item's logit does not change when another item of its list changes;
    with attention it does. Its weights are the identity on real slots."""
    x, pv, padding_mask = (t.to(device) for t in inputs())
    changed = x.clone()
    changed[:, 0] += 3.0  # change the first item of every list
    for list_attention in (False, True):
        net = model(list_attention=list_attention).to(device)
        before, after = net(x, pv, padding_mask), net(changed, pv, padding_mask)
        assert not torch.allclose(before[:, 0], after[:, 0])
        assert torch.allclose(before[:, 1:], after[:, 1:]) is not list_attention
    _, weights = model(list_attention=False).to(device)(x, pv, padding_mask, return_attention=True)
    eye = torch.eye(L, device=device).expand(B, 2, L, L).masked_fill(padding_mask[:, None, None, :], 0.0)
    assert all(torch.equal(w, eye) for w in weights)


def test_input_layer_follows_the_paper():
    x, pv, _ = inputs()
    layer = InputLayer(D_X, D_PV, 16, max_len=10)
    e, parts = layer(x, pv, return_parts=True)
    torch.testing.assert_close(parts["e_prime"], torch.cat([x, pv], -1))  # E' = [X ; PV]
    torch.testing.assert_close(parts["e_double_prime"], parts["e_prime"] + layer.position_embedding[:L])  # E'' = E' + PE
    torch.testing.assert_close(e, parts["e_double_prime"] @ layer.proj.weight.T + layer.proj.bias)  # E = E'' W^E + b^E
    assert e.shape == (B, L, 16) and layer.position_embedding.shape == (10, D_X + D_PV)


def test_shapes_and_score():
    x, pv, padding_mask = inputs()
    net = model()
    logits, attention = net(x, pv, padding_mask, return_attention=True)
    assert logits.shape == (B, L) and len(attention) == 2 and attention[0].shape == (B, 2, L, L)
    score = net.score(x, pv, padding_mask)
    torch.testing.assert_close(score.sum(-1), torch.ones(B))
    assert torch.all(score[padding_mask] == 0)
    order = net.rerank(x, pv, padding_mask)
    assert order.shape == (B, L) and torch.all(order[3, 1:] == torch.arange(1, L))  # the 1-item list keeps its padding last


def test_masked_softmax():
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    mask = torch.tensor([[False, False, True]])
    torch.testing.assert_close(masked_softmax(logits, mask), torch.tensor([[1 / (1 + torch.e), torch.e / (1 + torch.e), 0.0]]))


def test_bad_input_raises():
    x, pv, padding_mask = inputs()
    net = model()
    with pytest.raises(ValueError, match="longer than the position table"):
        net(torch.randn(2, 11, D_X), torch.randn(2, 11, D_PV))
    with pytest.raises(ValueError, match="x must be"):
        net(torch.randn(2, L, D_X + 1), torch.randn(2, L, D_PV))
    with pytest.raises(ValueError, match="pv must be"):
        net(x, pv[..., :2])
    with pytest.raises(ValueError, match="pv must be"):
        net(x, None)
    with pytest.raises(ValueError, match="padding_mask"):
        net(x, pv, padding_mask[:, :3])
    with pytest.raises(ValueError, match="PRMConfig.position"):
        PRMConfig(d_x=3, position="rotary")
    with pytest.raises(ValueError, match="PRMConfig.n_heads"):
        PRMConfig(d_x=3, n_heads=0)
