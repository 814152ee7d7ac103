"""What every hidden Markov model here shares: the sequences' layout, the
compiled forward-backward and Viterbi, the EM loop (lvmfast._iterate.iterate
with the HMM's pass and M-step), hmmlearn's ConvergenceMonitor, decoding,
scoring and sampling. A subclass supplies its emissions: their
log-probabilities, their statistics from the posteriors, their M-step,
their initialization and checks, and a draw from one state."""
import copy
import logging
import string
import sys
from collections import deque

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted, check_random_state

from lvmfast._iterate import iterate
from lvmfast._kernels import _hmm as kernels
from lvmfast._parallel import threads_for_work

_log = logging.getLogger(__name__)

#: Supported decoder algorithms.
DECODER_ALGORITHMS = frozenset(("viterbi", "map"))
IMPLEMENTATIONS = ("log", "scaling")
# Sequences are dealt to threads in blocks of at least this many steps (the
# plan depends on the lengths only).
BLOCK_STEPS = 4096
MAX_SEQUENCE_BLOCKS = 256


class ConvergenceMonitor:
    """Monitor and report the convergence of EM (hmmlearn's interface).

    Parameters
    ----------
    tol : float
        EM has converged when the log-likelihood gains less than tol.
    n_iter : int
        Maximum number of iterations.
    verbose : bool
        Whether each iteration is reported to stderr.

    Attributes
    ----------
    history : deque
        The log-likelihood of the data before each M-step.
    iter : int
        Number of iterations performed.

    Examples
    --------
    >>> from lvmfast.hmm import ConvergenceMonitor
    >>> monitor = ConvergenceMonitor(tol=1e-2, n_iter=10, verbose=False)
    >>> monitor.report(-10.0); monitor.report(-9.995)
    >>> monitor.converged
    True
    """

    _template = "{iter:>10d} {log_prob:>16.8f} {delta:>+16.8f}"

    def __init__(self, tol, n_iter, verbose):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history = deque()
        self.iter = 0

    def __repr__(self):
        params = sorted(dict(vars(self), history=list(self.history)).items())
        return "{}(\n".format(type(self).__name__) + "".join(f"    {k}={v!r},\n" for k, v in params) + ")"

    def _reset(self):
        self.iter = 0
        self.history.clear()

    def report(self, log_prob):
        """Record one iteration's log-likelihood (printed to stderr when verbose).

        Parameters
        ----------
        log_prob : float
            The log-likelihood of the data before this iteration's M-step.
        """
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else np.nan
            print(self._template.format(iter=self.iter + 1, log_prob=log_prob, delta=delta), file=sys.stderr)
        precision = np.finfo(float).eps ** 0.5
        if self.history and (log_prob - self.history[-1]) < -precision:
            _log.warning("Model is not converging.  Current: %s is not greater than %s. Delta is %s",
                         log_prob, self.history[-1], log_prob - self.history[-1])
        self.history.append(log_prob)
        self.iter += 1

    @property
    def converged(self):
        """Whether EM converged: n_iter reached, or the last gain below tol."""
        return self.iter == self.n_iter or (
            len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol)


class Sequences:
    """The layout of X's sequences: starts (n_sequences + 1,) into the rows,
    and the fixed blocks of consecutive sequences the kernels deal to
    threads (blocks (n_blocks + 1,) into the sequences)."""

    def __init__(self, lengths, n_samples):
        if lengths is None:
            lengths = np.array([n_samples])
        lengths_array = np.asarray(lengths)
        if lengths_array.ndim == 0:
            lengths_array = lengths_array.reshape(1)
        if lengths_array.ndim != 1 or (lengths_array.size and not np.issubdtype(lengths_array.dtype, np.integer)):
            if lengths_array.ndim == 1 and np.issubdtype(lengths_array.dtype, np.floating) and np.all(
                    np.isfinite(lengths_array)) and np.all(lengths_array == np.round(lengths_array)):
                lengths_array = lengths_array.astype(np.int64)
            else:
                raise TypeError(f"lengths must be a 1-D array of integers (the length of each sequence), got "
                                f"{np.asarray(lengths).dtype} with shape {np.shape(lengths)}")
        lengths_array = lengths_array.astype(np.int64)
        if lengths_array.size == 0:
            raise ValueError("lengths must hold at least one sequence length, got an empty array")
        if np.any(lengths_array <= 0):
            bad = np.flatnonzero(lengths_array <= 0)
            raise ValueError(f"lengths must be positive: sequence {int(bad[0])} has length "
                             f"{int(lengths_array[bad[0]])} (zero-length sequences are not allowed)")
        if int(lengths_array.sum()) != n_samples:
            raise ValueError(f"lengths must sum to the number of samples in X ({n_samples}), got a sum of "
                             f"{int(lengths_array.sum())}")
        self.lengths = lengths_array
        self.starts = np.zeros(lengths_array.size + 1, dtype=np.intp)
        np.cumsum(lengths_array, out=self.starts[1:])
        # a new block wherever a sequence starts past the next multiple of
        # the block size: consecutive sequences, at least `size` steps each
        size = max(BLOCK_STEPS, -(-n_samples // MAX_SEQUENCE_BLOCKS))
        block_of = self.starts[:-1] // size
        firsts = np.flatnonzero(np.r_[True, block_of[1:] != block_of[:-1]])
        self.blocks = np.r_[firsts, lengths_array.size].astype(np.intp)

    @property
    def n_sequences(self):
        return self.lengths.size


def _check_sum_1(name, value):
    sums = value.sum(axis=-1)
    if not np.allclose(sums, 1):
        if value.ndim == 1:
            raise ValueError(f"{name} must sum to 1 (got {sums:.4f})")
        bad = np.flatnonzero(~np.isclose(sums, 1))
        raise ValueError(f"{name} rows must sum to 1 (got row sums of {sums}; row {int(bad[0])} sums to "
                         f"{sums[bad[0]]!r})")


def _check_finite(name, value):
    value = np.asarray(value)
    if value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
        raise ValueError(f"{name} must be finite, got NaN or infinity in it")


class BaseHMM(BaseEstimator):
    """Base class of the hidden Markov models: EM, scoring, decoding,
    sampling (hmmlearn's BaseHMM interface). Subclasses define the
    emissions.

    Parameters
    ----------
    n_components : int
        Number of states.
    startprob_prior, transmat_prior : float or array
        Dirichlet prior parameters of ``startprob_`` and of each row of ``transmat_``.
    algorithm : {"viterbi", "map"}
        Default decoder.
    random_state : int, RandomState or None
        Seed of the initialization and of `sample`.
    n_iter, tol, verbose : int, float, bool
        EM's maximum number of iterations, convergence threshold and report.
    params, init_params : str
        Letters of the parameters EM updates / initializes.
    implementation : {"log", "scaling"}
        Accepted for hmmlearn compatibility: lvmfast always runs the
        forward-backward scaled per step (no underflow), Viterbi in logs.

    See Also
    --------
    lvmfast.GaussianHMM, lvmfast.GMMHMM, lvmfast.CategoricalHMM : The models built on it.

    Examples
    --------
    BaseHMM is not fitted itself: a model is one of its subclasses, and
    what BaseHMM defines (fit, score, decode, sample, the stationary
    distribution, aic and bic) is shared by all of them.

    >>> import numpy as np
    >>> from lvmfast.hmm import BaseHMM, CategoricalHMM
    >>> X = np.array([[0], [0], [1], [1], [0], [0], [1], [1]])
    >>> model = CategoricalHMM(n_components=2, random_state=0).fit(X)
    >>> isinstance(model, BaseHMM)
    True
    >>> round(float(model.get_stationary_distribution().sum()), 6)
    1.0
    >>> model.decode(X)[1].shape
    (8,)
    """

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params=string.ascii_letters,
                 init_params=string.ascii_letters, implementation="log"):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        # hmmlearn creates the monitor here, so that users may replace it before fit
        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)

    # --- subclass hooks -------------------------------------------------
    _emission_names = ()  # the fitted emission attributes (restored when a fit fails)

    def _validate_X(self, X, reset):
        return check_array(X, dtype=[np.float64, np.float32], order="C", input_name="X")

    def _compute_log_likelihood(self, X):
        """(n_samples, n_components) log p(x_t | state): hmmlearn's extension point."""
        raise NotImplementedError("Must be overridden in subclass")

    def _log_emissions(self, X):
        """_compute_log_likelihood as a new C-contiguous array the kernels may
        overwrite (the subclasses here return theirs directly)."""
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        return np.array(self._compute_log_likelihood(X), dtype=dtype, order="C", copy=True)

    def _fit_emissions(self, X):
        """The E-step's emissions: (log-probabilities, what _emission_statistics also needs)."""
        return self._log_emissions(X), None

    def _emission_statistics(self, X, posteriors, sequences, extra):
        return {}

    def _emission_m_step(self, stats):
        pass

    def _get_n_fit_scalars_per_param(self):
        return None

    def _generate_samples(self, states, random_state):
        """Emissions for the drawn states: none in the base class."""
        return np.empty((states.size, 0))

    # --- shared pieces ------------------------------------------------------
    def _needs_init(self, code, name):
        if code in self.init_params:
            if hasattr(self, name):
                _log.warning("Even though the %r attribute is set, it will be overwritten during "
                             "initialization because 'init_params' contains %r", name, code)
            return True
        return not hasattr(self, name)

    def _check_hyperparameters(self):
        if not isinstance(self.n_components, (int, np.integer)) or isinstance(self.n_components, bool) \
                or self.n_components < 1:
            raise ValueError(f"n_components must be a positive integer, got {self.n_components!r}")
        if self.implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {self.implementation!r}")
        if not isinstance(self.n_iter, (int, np.integer)) or self.n_iter < 0:
            raise ValueError(f"n_iter must be a non-negative integer, got {self.n_iter!r}")

    def _init(self, X, lengths=None):
        """Initialize the parameters init_params names (and any not set)."""
        self._check_and_set_n_features(X)
        random_state = check_random_state(self.random_state)
        init = 1.0 / self.n_components
        if self._needs_init("s", "startprob_"):
            self.startprob_ = random_state.dirichlet(np.full(self.n_components, init))
        if self._needs_init("t", "transmat_"):
            self.transmat_ = random_state.dirichlet(np.full(self.n_components, init), size=self.n_components)
        self._init_emissions(X, random_state)
        n_fit_scalars_per_param = self._get_n_fit_scalars_per_param()
        if n_fit_scalars_per_param is not None:
            n_fit_scalars = sum(n_fit_scalars_per_param.get(p, 0) for p in self.params)
            if X.size < n_fit_scalars:
                _log.warning("Fitting a model with %d free scalar parameters with only %d data points will "
                             "result in a degenerate solution.", n_fit_scalars, X.size)

    def _init_emissions(self, X, random_state):
        pass

    def _check_and_set_n_features(self, X):
        if getattr(self, "n_features", None) is None:
            self.n_features = X.shape[1] if X.ndim == 2 else 1

    def _check(self):
        """Validate the parameters: shapes, finiteness, distributions summing to 1."""
        startprob = np.asarray(self.startprob_, dtype=np.float64)
        if startprob.shape != (self.n_components,):
            raise ValueError(f"startprob_ must have length n_components ({self.n_components}), got shape "
                             f"{startprob.shape}")
        _check_finite("startprob_", startprob)
        _check_sum_1("startprob_", startprob)
        transmat = np.asarray(self.transmat_, dtype=np.float64)
        if transmat.shape != (self.n_components, self.n_components):
            raise ValueError(f"transmat_ must have shape (n_components, n_components) = "
                             f"({self.n_components}, {self.n_components}), got {transmat.shape}")
        _check_finite("transmat_", transmat)
        if np.any(startprob < 0) or np.any(transmat < 0):
            raise ValueError("startprob_ and transmat_ must be non-negative")
        _check_sum_1("transmat_", transmat)
        self.startprob_ = startprob
        self.transmat_ = transmat

    def _n_threads(self, n_samples):
        return threads_for_work(n_samples * self.n_components * (self.n_components + 8))

    def _forward_backward(self, X, sequences, frame=None):
        """Posteriors (n_samples, K, in X's dtype) and per-sequence log-probabilities,
        and the expected transition counts (K, K)."""
        if frame is None:
            frame = self._log_emissions(X)
        seq_log_prob = np.empty(sequences.n_sequences)
        block_xi = np.empty((sequences.blocks.size - 1, self.n_components, self.n_components))
        kernels.forward_backward(frame, sequences.starts, sequences.blocks,
                                 np.ascontiguousarray(self.startprob_, dtype=np.float64),
                                 np.ascontiguousarray(self.transmat_, dtype=np.float64), seq_log_prob, block_xi,
                                 self._n_threads(frame.size))
        return frame, seq_log_prob, block_xi.sum(axis=0) * self.transmat_

    def _prepare(self, X, lengths):
        check_is_fitted(self, "startprob_")
        self._check()
        X = self._validate_X(X, reset=False)
        return X, Sequences(lengths, X.shape[0])

    # --- EM -----------------------------------------------------------------
    def _e_step(self, X, sequences):
        frame, extra = self._fit_emissions(X)
        posteriors, seq_log_prob, trans = self._forward_backward(X, sequences, frame)
        log_prob = float(seq_log_prob.sum())
        if not np.isfinite(log_prob):
            bad = int(np.flatnonzero(~np.isfinite(seq_log_prob))[0])
            raise ValueError(f"X: sequence {bad} has probability 0 under the current parameters (every state "
                             f"is impossible at some step); check startprob_, transmat_ and the emissions")
        stats = {"nobs": sequences.n_sequences, "start": posteriors[sequences.starts[:-1]].sum(axis=0,
                                                                                            dtype=np.float64),
                 "trans": trans}
        stats.update(self._emission_statistics(X, posteriors, sequences, extra))
        return stats, log_prob

    def _do_mstep(self, stats):
        if "s" in self.params:
            startprob = np.maximum(self.startprob_prior - 1 + stats["start"], 0)
            startprob = np.where(self.startprob_ == 0, 0, startprob)
            total = startprob.sum()
            if total > 0:
                self.startprob_ = startprob / total
        if "t" in self.params:
            transmat = np.maximum(self.transmat_prior - 1 + stats["trans"], 0)
            transmat = np.where(self.transmat_ == 0, 0, transmat)
            sums = transmat.sum(axis=1, keepdims=True)
            # a state no sequence leaves keeps its row (hmmlearn leaves it 0)
            self.transmat_ = np.where(sums > 0, transmat / np.where(sums > 0, sums, 1), self.transmat_)
        self._emission_m_step(stats)

    def _fitted_state(self):
        names = ("startprob_", "transmat_", "n_features", "monitor_") + tuple(self._emission_names)
        return {name: copy.deepcopy(getattr(self, name)) for name in names if hasattr(self, name)}

    def _restore(self, saved):
        names = ("startprob_", "transmat_", "n_features", "monitor_") + tuple(self._emission_names)
        for name in names:
            if name in saved:
                setattr(self, name, saved[name])
            elif hasattr(self, name):
                delattr(self, name)

    def fit(self, X, lengths=None):
        """Estimate the parameters by EM (MAP-EM with the priors).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows of all sequences, one after the other.
        lengths : array-like of int, shape (n_sequences,), optional
            Length of each sequence; they must sum to n_samples.

        Returns
        -------
        self : object
        """
        saved = self._fitted_state()
        try:
            self._check_hyperparameters()
            X = self._validate_X(X, reset=True)
            sequences = Sequences(lengths, X.shape[0])
            self._init(X, lengths)
            self._check()
            self.monitor_._reset()

            def statistics_of(state):
                return self._e_step(X, sequences)

            def m_step(result, state):
                stats, log_prob = result
                self._do_mstep(stats)
                self.monitor_.report(log_prob)
                return state, log_prob

            iterate(statistics_of, m_step, None, -np.inf, self.n_iter, self.tol,
                    converged_after=lambda bounds: self.monitor_.converged)
        except BaseException:
            self._restore(saved)
            raise
        return self

    # --- scoring and decoding ---------------------------------------------------
    def score_samples(self, X, lengths=None):
        """Log-likelihood of X and the posteriors of the states.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        log_prob : float
        posteriors : ndarray of shape (n_samples, n_components)
        """
        X, sequences = self._prepare(X, lengths)
        posteriors, seq_log_prob, _ = self._forward_backward(X, sequences)
        return float(seq_log_prob.sum()), posteriors

    def score(self, X, lengths=None):
        """Log-likelihood of X under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        log_prob : float
        """
        return self.score_samples(X, lengths)[0]

    def predict_proba(self, X, lengths=None):
        """Posterior probability of each state at each step.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        posteriors : ndarray of shape (n_samples, n_components)
        """
        return self.score_samples(X, lengths)[1]

    def decode(self, X, lengths=None, algorithm=None):
        """Most likely state sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional
        algorithm : {"viterbi", "map"}, optional
            Defaults to the estimator's `algorithm`.

        Returns
        -------
        log_prob : float
            Viterbi: the log-probability of the path; MAP: the sum of each
            step's largest posterior (as hmmlearn).
        state_sequence : ndarray of shape (n_samples,)
        """
        algorithm = algorithm or self.algorithm
        if algorithm not in DECODER_ALGORITHMS:
            raise ValueError(f"Unknown decoder {algorithm!r}: algorithm must be 'viterbi' or 'map'")
        X, sequences = self._prepare(X, lengths)
        if algorithm == "map":
            posteriors, _, _ = self._forward_backward(X, sequences)
            return float(posteriors.max(axis=1).sum(dtype=np.float64)), posteriors.argmax(axis=1)
        frame = self._log_emissions(X)
        seq_log_prob = np.empty(sequences.n_sequences)
        path = np.empty(X.shape[0], dtype=np.intp)
        with np.errstate(divide="ignore"):
            log_start, log_trans = np.log(self.startprob_), np.log(self.transmat_)
        kernels.viterbi(frame, sequences.starts, sequences.blocks, log_start, log_trans, seq_log_prob, path,
                        self._n_threads(frame.size))
        return float(seq_log_prob.sum()), path

    def predict(self, X, lengths=None):
        """Most likely state of each step (by the default decoder).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        state_sequence : ndarray of shape (n_samples,)
        """
        return self.decode(X, lengths)[1]

    def sample(self, n_samples=1, random_state=None, currstate=None):
        """Draw a sequence from the model.

        Parameters
        ----------
        n_samples : int
        random_state : int, RandomState or None
            Defaults to the estimator's random_state.
        currstate : int, optional
            The first state (drawn from ``startprob_`` if not given).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        state_sequence : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "startprob_")
        self._check()
        random_state = check_random_state(self.random_state if random_state is None else random_state)
        if currstate is not None and not (0 <= int(currstate) < self.n_components):
            raise ValueError(f"currstate must be a state in [0, {self.n_components}), got {currstate!r}")
        transmat_cdf = np.cumsum(self.transmat_, axis=1)
        if currstate is None:
            currstate = int((np.cumsum(self.startprob_) > random_state.rand()).argmax())
        draws = random_state.rand(max(int(n_samples) - 1, 0))
        states = np.empty(int(n_samples), dtype=int)
        state = int(currstate)
        if n_samples:
            states[0] = state
        for t, u in enumerate(draws, start=1):
            state = int((transmat_cdf[state] > u).argmax())
            states[t] = state
        return self._generate_samples(states, random_state), states

    def get_stationary_distribution(self):
        """The stationary distribution of the states.

        Returns
        -------
        stationary : ndarray of shape (n_components,)
            The left eigenvector of ``transmat_`` for eigenvalue 1, scaled
            to sum to 1.
        """
        from scipy import linalg

        check_is_fitted(self, "transmat_")
        eigvals, eigvecs = linalg.eig(self.transmat_.T)
        eigvec = np.real_if_close(eigvecs[:, np.argmax(eigvals)])
        return eigvec / eigvec.sum()

    def aic(self, X, lengths=None):
        """Akaike information criterion: -2 log-likelihood + 2 (free parameters).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences, concatenated.
        lengths : array-like of int, optional
            The length of each sequence in X (one sequence when None).

        Returns
        -------
        aic : float
            Lower is better.
        """
        n_params = sum(self._get_n_fit_scalars_per_param().values())
        return -2 * self.score(X, lengths=lengths) + 2 * n_params

    def bic(self, X, lengths=None):
        """Bayesian information criterion: -2 log-likelihood + (free parameters) log(n_samples).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The sequences, concatenated.
        lengths : array-like of int, optional
            The length of each sequence in X (one sequence when None).

        Returns
        -------
        bic : float
            Lower is better.
        """
        n_params = sum(self._get_n_fit_scalars_per_param().values())
        return -2 * self.score(X, lengths=lengths) + n_params * np.log(len(X))
