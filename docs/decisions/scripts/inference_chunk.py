"""Inference time of fitted gff-markov cnn members (quick division) per 256 configurations at L = 32, by chunk size."""
import pickle, time, glob, numpy as np
import phasebench.denoisers.harness.learned as learned
rng = np.random.default_rng(0)
y = rng.standard_normal((256, 1, 32, 32))
print("| member | " + " | ".join(f"2^{k}" for k in (12, 14, 16, 18)) + " | max |diff| vs 2^18 |")
for path in sorted(glob.glob('fitcache/cnn-r*.pkl')):
    fam = pickle.load(open(path, 'rb'))["family"]
    times, outs = [], []
    for k in (12, 14, 16, 18):
        learned.INFERENCE_CHUNK_SITES = 2**k
        fam.denoise(y[:16], 1.0)
        ts = []
        for _ in range(3):
            t = time.perf_counter(); o = fam.denoise(y, 1.0); ts.append(time.perf_counter() - t)
        times.append(np.median(ts)); outs.append(o)
    print(f"| r = {fam.radius} | " + " | ".join(f"{t:.2f} s" for t in times) + f" | {max(np.abs(o - outs[-1]).max() for o in outs):.1e} |")
