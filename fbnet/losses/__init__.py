"""Training losses on BHWC float images in [0, 1]; each returns one value per image.

Every loss class is registered for ``.keras`` saving (package ``fbnet``).
"""

from fbnet.losses.fbnet_loss import FBNetLoss as FBNetLoss
from fbnet.losses.ms_ssim import MSSSIMLoss as MSSSIMLoss
from fbnet.losses.pixel import CharbonnierLoss as CharbonnierLoss
from fbnet.losses.pixel import L1Loss as L1Loss
from fbnet.losses.pixel import L2Loss as L2Loss
from fbnet.losses.psnr_loss import PSNRLoss as PSNRLoss
from fbnet.losses.ssim_loss import SSIMLoss as SSIMLoss
from fbnet.losses.structure import CensusLoss as CensusLoss
from fbnet.losses.structure import LaplacianL1Loss as LaplacianL1Loss
