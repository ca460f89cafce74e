"""semjscc: semantic deep joint source-channel coding over noisy, fading, multi-hop links.

The pieces a notebook needs are importable from here::

    import semjscc
    model = semjscc.create_model(semjscc.ModelConfig(num_features=32))
    channel = semjscc.build_channel({"name": "rician", "k_factor": 10})
"""

import warnings

# An optional dependency of CompressAI (present with the test extra) warns on import.
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated",
                        category=FutureWarning)
# CompressAI's video models (never used here) use a deprecated autocast decorator at import.
warnings.filterwarnings("ignore", message=r"`torch.cuda.amp.autocast\(args...\)` is deprecated",
                        category=FutureWarning)

from .channels import AWGN, Nakagami, Rayleigh, Rician, build_channel  # noqa: E402
from .channels.quantize import Codebook  # noqa: E402
from .config import Config, ModelConfig, load_config  # noqa: E402
from .data import build_dataset, make_loader  # noqa: E402
from .experiments import Experiment, reproduce  # noqa: E402
from .losses import build_loss, method_label  # noqa: E402
from .metrics import (  # noqa: E402
                        LPIPS,
                        HammingMAP,
                        HashBitAgreement,
                        HashCosine,
                        LPIPSMetric,
                        image_metrics,
                        load_lpips,
)
from .models import (  # noqa: E402
                        MultiHopDF,
                        QuantizeForward,
                        channel_output,
                        create_dhd,
                        create_model,
                        hop,
                        load,
)
from .semantics import HashJudge  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = [
    "AWGN", "LPIPS", "Codebook", "Config", "Experiment", "HammingMAP", "HashBitAgreement",
    "HashCosine", "HashJudge", "LPIPSMetric", "ModelConfig", "MultiHopDF", "Nakagami",
    "QuantizeForward", "Rayleigh", "Rician", "__version__", "build_channel", "build_dataset",
    "build_loss", "channel_output", "create_dhd", "create_model", "hop", "image_metrics",
    "load", "load_config", "load_lpips", "make_loader", "method_label", "reproduce",
]
