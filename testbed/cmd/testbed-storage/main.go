// Command testbed-storage is the simulated storage backend of Larr1's local test
// cluster. It is a small dynamic provisioner for one StorageClass:
//
//   - for each pending claim of the class it creates a PersistentVolume of the
//     requested size (a hostPath directory under --volume-dir) whose claimRef
//     points at the claim; kube-controller-manager's PV controller then binds
//     the two, as it does for any external provisioner;
//   - it deletes the volumes it made once their claim is gone (reclaim policy
//     Delete), with their directories;
//   - when a bound claim asks for more storage (the class allows expansion), it
//     grows the volume's capacity and then reports the new size in the claim's
//     status, which is what a real resizer does after expanding a disk.
//
// Nothing is written to a real disk beyond an empty directory per volume.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
)

const (
	provisionerName     = "larr1.local/testbed-storage"
	annProvisionedBy    = "pv.kubernetes.io/provisioned-by"
	annDefaultClass     = "storageclass.kubernetes.io/is-default-class"
	claimKeyPrefix      = "pvc/"
	volumeKeyPrefix     = "pv/"
	resyncPeriod        = 30 * time.Second
	defaultHealthListen = "127.0.0.1:16261"
)

type provisioner struct {
	client    kubernetes.Interface
	className string
	volumeDir string
	claims    corelisters.PersistentVolumeClaimLister
	volumes   corelisters.PersistentVolumeLister
	queue     workqueue.TypedRateLimitingInterface[string]
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "path of the kubeconfig to use")
	className := flag.String("storage-class", "larr1-testbed", "StorageClass served by this provisioner")
	volumeDir := flag.String("volume-dir", "", "directory under which volume directories are created")
	makeDefault := flag.Bool("default-class", true, "mark the StorageClass as the cluster's default")
	healthAddr := flag.String("health-addr", defaultHealthListen, "address of the /healthz endpoint (loopback)")
	flag.Parse()
	if *volumeDir == "" {
		log.Fatal("--volume-dir is required")
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("kubeconfig: %v", err)
	}
	cfg.UserAgent = "testbed-storage"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Fatalf("client: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := ensureStorageClass(ctx, client, *className, *makeDefault); err != nil {
		log.Fatalf("storage class: %v", err)
	}

	factory := informers.NewSharedInformerFactory(client, resyncPeriod)
	claimInformer := factory.Core().V1().PersistentVolumeClaims()
	volumeInformer := factory.Core().V1().PersistentVolumes()
	p := &provisioner{
		client:    client,
		className: *className,
		volumeDir: *volumeDir,
		claims:    claimInformer.Lister(),
		volumes:   volumeInformer.Lister(),
		queue: workqueue.NewTypedRateLimitingQueue(
			workqueue.DefaultTypedControllerRateLimiter[string]()),
	}
	claimInformer.Informer().AddEventHandler(p.handler(claimKeyPrefix))
	volumeInformer.Informer().AddEventHandler(p.handler(volumeKeyPrefix))
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			log.Fatalf("cache of %v did not sync", typ)
		}
	}

	go serveHealth(ctx, *healthAddr)
	log.Printf("serving StorageClass %s as %s", *className, provisionerName)
	go func() {
		<-ctx.Done()
		p.queue.ShutDown()
	}()
	for p.processNext(ctx) {
	}
	log.Print("stopped")
}

func serveHealth(ctx context.Context, addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("health endpoint: %v", err)
	}
}

// ensureStorageClass creates the class on first start. An existing class is
// left alone apart from a warning when it names another provisioner.
func ensureStorageClass(ctx context.Context, client kubernetes.Interface, name string, makeDefault bool) error {
	expand := true
	reclaim := corev1.PersistentVolumeReclaimDelete
	binding := storagev1.VolumeBindingImmediate
	class := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "larr1-testbed"},
		},
		Provisioner:          provisionerName,
		ReclaimPolicy:        &reclaim,
		VolumeBindingMode:    &binding,
		AllowVolumeExpansion: &expand,
	}
	if makeDefault {
		class.Annotations = map[string]string{annDefaultClass: "true"}
	}
	existing, err := client.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, err = client.StorageV1().StorageClasses().Get(ctx, name, metav1.GetOptions{})
		if err == nil && existing.Provisioner != provisionerName {
			log.Printf("warning: StorageClass %s uses provisioner %s, not %s", name, existing.Provisioner, provisionerName)
		}
	}
	return err
}

func (p *provisioner) handler(prefix string) cache.ResourceEventHandler {
	add := func(obj interface{}) {
		key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		if err == nil {
			p.queue.Add(prefix + key)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj interface{}) { add(obj) },
		DeleteFunc: func(obj interface{}) {
			// A deleted claim may leave a released volume behind.
			if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok && pvc.Spec.VolumeName != "" {
				p.queue.Add(volumeKeyPrefix + pvc.Spec.VolumeName)
			}
		},
	}
}

func (p *provisioner) processNext(ctx context.Context) bool {
	key, quit := p.queue.Get()
	if quit {
		return false
	}
	defer p.queue.Done(key)
	var err error
	switch {
	case strings.HasPrefix(key, claimKeyPrefix):
		err = p.syncClaim(ctx, strings.TrimPrefix(key, claimKeyPrefix))
	case strings.HasPrefix(key, volumeKeyPrefix):
		err = p.syncVolume(ctx, strings.TrimPrefix(key, volumeKeyPrefix))
	}
	if err != nil {
		log.Printf("%s: %v (will retry)", key, err)
		p.queue.AddRateLimited(key)
		return true
	}
	p.queue.Forget(key)
	return true
}

func (p *provisioner) ours(pvc *corev1.PersistentVolumeClaim) bool {
	return pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName == p.className
}

func volumeName(pvc *corev1.PersistentVolumeClaim) string { return "pvc-" + string(pvc.UID) }

func (p *provisioner) syncClaim(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pvc, err := p.claims.PersistentVolumeClaims(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !p.ours(pvc) || pvc.DeletionTimestamp != nil {
		return nil
	}
	if pvc.Spec.VolumeName == "" {
		return p.provision(ctx, pvc)
	}
	if pvc.Status.Phase == corev1.ClaimBound {
		return p.expand(ctx, pvc)
	}
	return nil
}

func (p *provisioner) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	name := volumeName(pvc)
	if _, err := p.volumes.Get(name); err == nil {
		return nil // made already; the PV controller binds it
	}
	size, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok || size.IsZero() {
		return fmt.Errorf("claim requests no storage")
	}
	dir := filepath.Join(p.volumeDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	modes := pvc.Spec.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{annProvisionedBy: provisionerName},
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "larr1-testbed"},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              p.className,
			VolumeMode:                    pvc.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{
				Kind:       "PersistentVolumeClaim",
				APIVersion: "v1",
				Namespace:  pvc.Namespace,
				Name:       pvc.Name,
				UID:        pvc.UID,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostPathType},
			},
		},
	}
	_, err := p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err == nil {
		log.Printf("provisioned %s (%s) for %s/%s", name, size.String(), pvc.Namespace, pvc.Name)
	}
	return err
}

// expand grows a bound volume to the size its claim asks for, then reports the
// new capacity in the claim's status.
func (p *provisioner) expand(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	want, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return nil
	}
	pv, err := p.volumes.Get(pvc.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Annotations[annProvisionedBy] != provisionerName {
		return nil
	}
	have := pv.Spec.Capacity[corev1.ResourceStorage]
	if want.Cmp(have) > 0 {
		pv = pv.DeepCopy()
		pv.Spec.Capacity[corev1.ResourceStorage] = want
		if _, err := p.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
			return err
		}
		log.Printf("expanded %s from %s to %s", pv.Name, have.String(), want.String())
		have = want
	}
	reported := pvc.Status.Capacity[corev1.ResourceStorage]
	if reported.Cmp(have) >= 0 && !resizeInProgress(pvc) {
		return nil
	}
	updated := pvc.DeepCopy()
	if updated.Status.Capacity == nil {
		updated.Status.Capacity = corev1.ResourceList{}
	}
	updated.Status.Capacity[corev1.ResourceStorage] = have.DeepCopy()
	if updated.Status.AllocatedResources != nil {
		updated.Status.AllocatedResources[corev1.ResourceStorage] = have.DeepCopy()
	}
	updated.Status.AllocatedResourceStatuses = nil
	var kept []corev1.PersistentVolumeClaimCondition
	for _, c := range updated.Status.Conditions {
		if c.Type != corev1.PersistentVolumeClaimResizing &&
			c.Type != corev1.PersistentVolumeClaimFileSystemResizePending &&
			c.Type != corev1.PersistentVolumeClaimControllerResizeError &&
			c.Type != corev1.PersistentVolumeClaimNodeResizeError {
			kept = append(kept, c)
		}
	}
	updated.Status.Conditions = kept
	_, err = p.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if err == nil {
		log.Printf("claim %s/%s now reports %s", pvc.Namespace, pvc.Name, have.String())
	}
	return err
}

func resizeInProgress(pvc *corev1.PersistentVolumeClaim) bool {
	if len(pvc.Status.AllocatedResourceStatuses) > 0 {
		return true
	}
	for _, c := range pvc.Status.Conditions {
		switch c.Type {
		case corev1.PersistentVolumeClaimResizing, corev1.PersistentVolumeClaimFileSystemResizePending:
			return true
		}
	}
	return false
}

// syncVolume deletes a volume of ours once its claim is gone.
func (p *provisioner) syncVolume(ctx context.Context, name string) error {
	pv, err := p.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Annotations[annProvisionedBy] != provisionerName ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		pv.DeletionTimestamp != nil || pv.Spec.ClaimRef == nil {
		return nil
	}
	ref := pv.Spec.ClaimRef
	claim, err := p.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	case claim.UID != ref.UID:
	default:
		return nil // the claim still exists
	}
	if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
		// Wait for the PV controller to see the claim is gone; it requeues us.
		p.queue.AddAfter(volumeKeyPrefix+name, 2*time.Second)
		return nil
	}
	err = p.client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &pv.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if pv.Spec.HostPath != nil && filepath.Dir(pv.Spec.HostPath.Path) == filepath.Clean(p.volumeDir) {
		_ = os.RemoveAll(pv.Spec.HostPath.Path)
	}
	log.Printf("deleted %s (claim %s/%s is gone)", name, ref.Namespace, ref.Name)
	return nil
}
