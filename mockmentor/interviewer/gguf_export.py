"""Write a LoRA-tuned model as a GGUF file that llama.cpp runs, starting from the base GGUF.

The base checkpoint ships as GGUF, so the tuned model is that same file with the tensors
LoRA changed replaced: each becomes the transformers model's merged weight (base + delta),
quantised to `qtype` (Q8_0 by default: Q4_1's step is larger than a LoRA delta, which
would mostly vanish). Taking the merged weight from transformers, not dequantising the
GGUF again, keeps both decoders on the same numbers (the gguf package dequantises Q4_1 in
float16, llama.cpp in float32; they differ by up to 0.016). Every other tensor and all
metadata (tokenizer, chat template) are copied byte for byte. llama.cpp stores q/k
projections with rows permuted for its rotary layout; we apply its converter's permutation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

QTYPES = ("F32", "F16", "Q8_0", "Q5_1", "Q4_1")


def _permute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's rotary row order for q/k weights (its convert_hf_to_gguf `permute`)."""
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def merged_lora_weights(peft_model: Any) -> dict[str, np.ndarray]:
    """{transformers weight name: base + LoRA delta} for every layer with an adapter."""
    from peft.tuners.lora import LoraLayer

    merged = {}
    for name, module in peft_model.named_modules():
        if isinstance(module, LoraLayer) and module.active_adapters:
            with torch.no_grad():
                weight = module.get_base_layer().weight.float().clone()
                for adapter in module.active_adapters:
                    weight += module.get_delta_weight(adapter).float()
            # "base_model.model.model.layers.0.self_attn.q_proj" -> "model.layers.0.self_attn.q_proj.weight"
            merged[name.removeprefix("base_model.model.") + ".weight"] = weight.cpu().numpy()
    return merged


def export_gguf(
    base_gguf: Path, weights: dict[str, np.ndarray], config: Any, target: Path, qtype: str = "Q8_0"
) -> dict[str, int]:
    """Write the base GGUF with `weights` (transformers names) replaced to `target`.

    Returns counts of changed and copied tensors."""
    import gguf

    if qtype not in QTYPES:
        raise ValueError(f"GGUF type {qtype!r} is not one of {', '.join(QTYPES)}")
    reader = gguf.GGUFReader(base_gguf)
    arch_name = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    if arch_name != "llama":
        raise ValueError(f"{base_gguf}: GGUF export supports llama-architecture bases, not {arch_name!r}")
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    by_gguf_name = {}
    for hf_name, weight in weights.items():
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight",))
        if gguf_name is None:
            raise ValueError(f"no GGUF tensor for {hf_name}")
        if hf_name.endswith("q_proj.weight"):
            weight = _permute_rows(weight, config.num_attention_heads)
        elif hf_name.endswith("k_proj.weight"):
            weight = _permute_rows(weight, config.num_key_value_heads)
        by_gguf_name[gguf_name] = weight  # get_name keeps the ".weight" suffix

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    writer = gguf.GGUFWriter(partial, arch=arch_name, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name in (gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.NAME) or field.name.startswith(
            "GGUF."
        ):
            continue  # the writer adds these itself; the name is ours
        kind = field.types[0]
        sub_type = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub_type)
    writer.add_key_value(gguf.Keys.General.NAME, "MockMentor interviewer", gguf.GGUFValueType.STRING)

    quant = gguf.GGMLQuantizationType[qtype]
    changed = 0
    for tensor in reader.tensors:
        merged = by_gguf_name.pop(tensor.name, None)
        if merged is None:
            writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
            continue
        expected = (int(tensor.shape[1]), int(tensor.shape[0])) if len(tensor.shape) == 2 else None
        if merged.shape != expected:
            raise ValueError(f"{tensor.name}: base {expected} vs new {merged.shape}")
        if qtype == "F32":
            writer.add_tensor(tensor.name, merged)
        elif qtype == "F16":
            writer.add_tensor(tensor.name, merged.astype(np.float16))
        else:
            writer.add_tensor(tensor.name, gguf.quantize(merged, quant), raw_dtype=quant)
        changed += 1
    if by_gguf_name:
        missing = sorted(by_gguf_name)
        raise ValueError(f"{len(missing)} weights without a base tensor, e.g. {', '.join(missing[:3])}")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(target)  # a crash never leaves a half-written model under the real name
    return {"changed": changed, "copied": len(reader.tensors) - changed}
