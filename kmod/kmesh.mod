/work/main/kmod/main.o
