"""Hidden Markov models with hmmlearn's interface: GaussianHMM, GMMHMM and
CategoricalHMM, on compiled forward-backward and Viterbi kernels."""
from lvmfast.hmm._base import DECODER_ALGORITHMS, BaseHMM, ConvergenceMonitor
from lvmfast.hmm._categorical_hmm import CategoricalHMM
from lvmfast.hmm._gaussian_hmm import GaussianHMM
from lvmfast.hmm._gmm_hmm import GMMHMM

__all__ = ["BaseHMM", "CategoricalHMM", "ConvergenceMonitor", "DECODER_ALGORITHMS", "GaussianHMM", "GMMHMM"]
