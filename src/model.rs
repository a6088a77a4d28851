//! Networks and inputs a user brings (MATH 10): safetensors, npz, export directories, npy inputs.
