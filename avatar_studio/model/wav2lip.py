"""The Wav2Lip generator with the exact module tree of the public checkpoints.

Attribute names and layer order are part of the checkpoint format (`wav2lip.pth`, `wav2lip_gan.pth`
load into this module unchanged), so the layout below must not be "tidied".
"""

from __future__ import annotations

import torch
from torch import nn


class Conv2d(nn.Module):
    """Conv + BatchNorm (+ identity shortcut) + ReLU: the `conv_block` unit of every checkpoint."""

    def __init__(self, cin: int, cout: int, kernel_size, stride, padding, residual: bool = False) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(cin, cout, kernel_size, stride, padding), nn.BatchNorm2d(cout)
        )
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class Conv2dTranspose(nn.Module):
    """Transposed conv + BatchNorm + ReLU, the decoder's upsampling unit."""

    def __init__(self, cin: int, cout: int, kernel_size, stride, padding, output_padding: int = 0) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel_size, stride, padding, output_padding),
            nn.BatchNorm2d(cout),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _res(channels: int) -> Conv2d:
    return Conv2d(channels, channels, 3, 1, 1, residual=True)


class Wav2Lip(nn.Module):
    """mel (B,1,80,16) + face (B,6,96,96), both float -> mouth image (B,3,96,96) in [0, 1], BGR."""

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(Conv2d(6, 16, 7, 1, 3)),
            nn.Sequential(Conv2d(16, 32, 3, 2, 1), _res(32), _res(32)),
            nn.Sequential(Conv2d(32, 64, 3, 2, 1), _res(64), _res(64), _res(64)),
            nn.Sequential(Conv2d(64, 128, 3, 2, 1), _res(128), _res(128)),
            nn.Sequential(Conv2d(128, 256, 3, 2, 1), _res(256), _res(256)),
            nn.Sequential(Conv2d(256, 512, 3, 2, 1), _res(512)),
            nn.Sequential(Conv2d(512, 512, 3, 1, 0), Conv2d(512, 512, 1, 1, 0)),
        ])
        self.audio_encoder = nn.Sequential(
            Conv2d(1, 32, 3, 1, 1), _res(32), _res(32),
            Conv2d(32, 64, 3, (3, 1), 1), _res(64), _res(64),
            Conv2d(64, 128, 3, 3, 1), _res(128), _res(128),
            Conv2d(128, 256, 3, (3, 2), 1), _res(256),
            Conv2d(256, 512, 3, 1, 0), Conv2d(512, 512, 1, 1, 0),
        )
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(Conv2d(512, 512, 1, 1, 0)),
            nn.Sequential(Conv2dTranspose(1024, 512, 3, 1, 0), _res(512)),
            nn.Sequential(Conv2dTranspose(1024, 512, 3, 2, 1, output_padding=1), _res(512), _res(512)),
            nn.Sequential(Conv2dTranspose(768, 384, 3, 2, 1, output_padding=1), _res(384), _res(384)),
            nn.Sequential(Conv2dTranspose(512, 256, 3, 2, 1, output_padding=1), _res(256), _res(256)),
            nn.Sequential(Conv2dTranspose(320, 128, 3, 2, 1, output_padding=1), _res(128), _res(128)),
            nn.Sequential(Conv2dTranspose(160, 64, 3, 2, 1, output_padding=1), _res(64), _res(64)),
        ])
        self.output_block = nn.Sequential(
            Conv2d(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid()
        )

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        audio = self.audio_encoder(mel)
        features = []
        x = face
        for block in self.face_encoder_blocks:
            x = block(x)
            features.append(x)
        x = audio
        for block in self.face_decoder_blocks:
            x = block(x)
            x = torch.cat((x, features.pop()), dim=1)
        return self.output_block(x)
