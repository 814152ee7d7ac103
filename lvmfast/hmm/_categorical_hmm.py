"""CategoricalHMM: a hidden Markov model emitting one symbol (0 .. n_features - 1) per step."""
import numpy as np
from sklearn.utils.validation import check_array

from lvmfast.hmm._base import BaseHMM, _check_finite, _check_sum_1


class CategoricalHMM(BaseHMM):
    """Hidden Markov model with categorical emissions (hmmlearn's CategoricalHMM).

    X holds one non-negative integer symbol per row: shape (n_samples, 1).

    Parameters
    ----------
    n_components : int
        Number of states.
    startprob_prior, transmat_prior : float or array
        Dirichlet priors of ``startprob_`` and of the rows of ``transmat_``.
    emissionprob_prior : float or array of shape (n_components, n_features)
        Dirichlet prior of each state's emission probabilities.
    n_features : int, optional
        Number of symbols; inferred from the data (largest symbol + 1) when None.
    algorithm : {"viterbi", "map"}
    random_state : int, RandomState or None
    n_iter : int
    tol : float
    verbose : bool
    params, init_params : str
        Any of 's', 't', 'e' (emissionprob).
    implementation : {"log", "scaling"}
        Accepted for compatibility.

    Attributes
    ----------
    monitor_ : ConvergenceMonitor
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    emissionprob_ : ndarray of shape (n_components, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from lvmfast.hmm import CategoricalHMM
    >>> X = np.array([[0], [1], [1], [2], [0], [2], [2], [1]])
    >>> model = CategoricalHMM(n_components=2, random_state=0).fit(X)
    >>> model.emissionprob_.shape
    (2, 3)
    """

    _emission_names = ("emissionprob_",)

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0, *, emissionprob_prior=1.0,
                 n_features=None, algorithm="viterbi", random_state=None, n_iter=10, tol=1e-2, verbose=False,
                 params="ste", init_params="ste", implementation="log"):
        super().__init__(n_components, startprob_prior=startprob_prior, transmat_prior=transmat_prior,
                         algorithm=algorithm, random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params, implementation=implementation)
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features

    def _fitted_state(self):
        saved = super()._fitted_state()
        saved["n_features"] = self.n_features  # a constructor parameter that fit may fill in
        return saved

    def _check_and_set_n_features(self, X):
        """Check that X holds non-negative integer symbols within n_features (set from X when None)."""
        X = np.asarray(X)
        if not np.issubdtype(X.dtype, np.integer):
            raise ValueError(f"Symbols should be integers: X must hold integer symbols, got dtype {X.dtype}")
        if X.size and X.min() < 0:
            raise ValueError(f"Symbols should be nonnegative: X holds the symbol {int(X.min())}")
        if self.n_features is not None:
            if X.size and self.n_features - 1 < X.max():
                raise ValueError(f"Largest symbol is {int(X.max())} but the model only emits symbols up to "
                                 f"{self.n_features - 1}: X holds a symbol outside the fitted range "
                                 f"(n_features={self.n_features})")
        else:
            self.n_features = int(X.max()) + 1

    def _validate_X(self, X, reset):
        X = check_array(X, dtype=None, input_name="X")
        if X.shape[1] != 1:
            raise ValueError(f"X must have shape (n_samples, 1): one symbol per row, got shape {X.shape}")
        if reset:
            self._check_and_set_n_features(X)
        else:
            saved = self.n_features
            try:
                self._check_and_set_n_features(X)
            finally:
                self.n_features = saved
        return np.ascontiguousarray(X[:, 0], dtype=np.intp)

    def _get_n_fit_scalars_per_param(self):
        nc, nf = self.n_components, self.n_features
        return {"s": nc - 1, "t": nc * (nc - 1), "e": nc * (nf - 1)}

    def _init_emissions(self, X, random_state):
        if self._needs_init("e", "emissionprob_"):
            emissionprob = random_state.rand(self.n_components, self.n_features)
            self.emissionprob_ = emissionprob / emissionprob.sum(axis=1, keepdims=True)

    def _check(self):
        super()._check()
        emissionprob = np.atleast_2d(np.asarray(self.emissionprob_, dtype=np.float64))
        if self.n_features is None:
            self.n_features = emissionprob.shape[1]
        if emissionprob.shape != (self.n_components, self.n_features):
            raise ValueError(f"emissionprob_ must have shape (n_components, n_features) = "
                             f"({self.n_components}, {self.n_features}), got {emissionprob.shape}")
        _check_finite("emissionprob_", emissionprob)
        if np.any(emissionprob < 0):
            raise ValueError("emissionprob_ must be non-negative")
        _check_sum_1("emissionprob_", emissionprob)
        self.emissionprob_ = emissionprob

    def _compute_log_likelihood(self, X):
        return self._log_emissions(X)

    def _log_emissions(self, X):
        with np.errstate(divide="ignore"):
            return np.ascontiguousarray(np.log(self.emissionprob_).T[X])

    def _emission_statistics(self, X, posteriors, sequences, extra):
        if "e" not in self.params:
            return {}
        obs = np.empty((self.n_components, self.n_features))
        for k in range(self.n_components):
            obs[k] = np.bincount(X, weights=posteriors[:, k], minlength=self.n_features)
        return {"obs": obs}

    def _emission_m_step(self, stats):
        if "obs" not in stats:
            return
        emissionprob = np.maximum(self.emissionprob_prior - 1 + stats["obs"], 0)
        sums = emissionprob.sum(axis=1, keepdims=True)
        # a state no step visits keeps its emission probabilities
        self.emissionprob_ = np.where(sums > 0, emissionprob / np.where(sums > 0, sums, 1), self.emissionprob_)

    def _generate_samples(self, states, random_state):
        cdf = np.cumsum(self.emissionprob_, axis=1)
        draws = random_state.rand(states.size)
        symbols = (cdf[states] > draws[:, None]).argmax(axis=1)
        return symbols.reshape(-1, 1)
