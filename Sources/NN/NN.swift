// Module NN.
